/**
 * Socket specs in sendmail's own syntax, so a listen spec can be pasted from the K line:
 * `inet:PORT@HOST`, `inet6:PORT@HOST`, `unix:/path`, `local:/path` or a bare `/path`.
 */
import { isLoopbackHost } from '../net/loopback.js';
import { isIP } from 'node:net';
import { EndpointError } from '../errors.js';

export type Endpoint =
  | { readonly kind: 'inet'; readonly family: 4 | 6; readonly host: string; readonly port: number; readonly spec: string }
  | { readonly kind: 'unix'; readonly path: string; readonly spec: string };

export function parseEndpoint(spec: string): Endpoint {
  const text = spec.trim();
  if (text.startsWith('/')) return unixEndpoint(text, text);
  const colon = text.indexOf(':');
  if (colon < 0) throw new EndpointError(`socket spec "${spec}" has no type: use inet:PORT@HOST, inet6:PORT@HOST or unix:/path`);
  const type = text.slice(0, colon).toLowerCase();
  const rest = text.slice(colon + 1);
  switch (type) {
    case 'unix':
    case 'local':
      return unixEndpoint(rest, text);
    case 'inet':
    case 'inet6':
      return inetEndpoint(type === 'inet' ? 4 : 6, rest, text);
    default:
      throw new EndpointError(`socket spec "${spec}" has unknown type "${type}": use inet, inet6, unix or local`);
  }
}

function unixEndpoint(path: string, spec: string): Endpoint {
  if (!path.startsWith('/')) throw new EndpointError(`socket spec "${spec}" needs an absolute path, as in unix:/run/mx4map/mx4map.sock`);
  if (path.includes('\0')) throw new EndpointError(`socket spec "${spec}" has a NUL byte in its path`);
  return { kind: 'unix', path, spec };
}

function inetEndpoint(family: 4 | 6, rest: string, spec: string): Endpoint {
  const at = rest.indexOf('@');
  if (at < 0) {
    throw new EndpointError(`socket spec "${spec}" names no host: write inet:PORT@HOST, for example inet:8425@127.0.0.1`);
  }
  const portText = rest.slice(0, at);
  let host = rest.slice(at + 1);
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) {
    throw new EndpointError(`socket spec "${spec}" has port "${portText}": give a number from 0 to 65535`);
  }
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (host.toLowerCase().startsWith('ipv6:')) host = host.slice(5);
  if (host.length === 0) throw new EndpointError(`socket spec "${spec}" has an empty host`);
  const ipFamily = isIP(host);
  if (ipFamily === 0 && !/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(host)) {
    throw new EndpointError(`socket spec "${spec}" has host "${host}", which is neither an IP address nor a host name`);
  }
  if (ipFamily !== 0 && ipFamily !== family) {
    const want = ipFamily === 6 ? 'inet6' : 'inet';
    throw new EndpointError(`socket spec "${spec}" pairs ${spec.split(':')[0]} with an IPv${ipFamily} address: write ${want}:${portText}@${host}`);
  }
  return { kind: 'inet', family, host, port: Number(portText), spec };
}

/** The spec of an endpoint as bound (port 0 replaced by the real port), in the same syntax. */
export function formatEndpoint(endpoint: Endpoint, boundPort?: number): string {
  if (endpoint.kind === 'unix') return `unix:${endpoint.path}`;
  const host = endpoint.family === 6 && isIP(endpoint.host) === 6 ? `[${endpoint.host}]` : endpoint.host;
  return `inet${endpoint.family === 6 ? '6' : ''}:${boundPort ?? endpoint.port}@${host}`;
}

/** True for addresses only this machine can reach; the protocol has no authentication, so the rest warrant a warning. */
export function isLoopback(endpoint: Endpoint): boolean {
  return endpoint.kind === 'unix' || isLoopbackHost(endpoint.host);
}
