/**
 * The operations listener (`--http`): GET /metrics (Prometheus), /healthz, and /decisions (the forced
 * decisions held now, for `mx4map export`). Loopback by default; it has no authentication either.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo, isIP } from 'node:net';
import type { Metrics } from './metrics.js';
import { type DecisionsView, parsePage, writeJsonArray } from './decisions-view.js';

/**
 * Limits of the ops listener, so slow or numerous HTTP clients cannot take the descriptors and time that
 * socketmap clients need: a scraper needs one connection, `export` and `replay` one more each.
 */
export const OPS_MAX_CONNECTIONS = 16;
const OPS_HEADERS_TIMEOUT_MS = 5000;
const OPS_REQUEST_TIMEOUT_MS = 10_000;
const OPS_KEEP_ALIVE_MS = 5000;
const OPS_REQUESTS_PER_SOCKET = 100;

export interface HttpEndpoint {
  readonly host: string;
  readonly port: number;
  /** As written (HOST:PORT), for messages and the effective configuration. */
  readonly spec: string;
}

/** Where the packaged configuration puts the ops listener, and where its clients (export) look by default. */
export const DEFAULT_OPS_LISTEN = '127.0.0.1:9425';

/** What to tell a client that found no ops listener. */
export const NO_OPS_LISTENER_HINT = `is serve running with its ops listener on? http: ${DEFAULT_OPS_LISTEN} in mx4map.yml, or --http`;

/** `HOST:PORT` or `[v6]:PORT`; or a problem. */
export function parseHttpListen(input: string): HttpEndpoint | { problem: string } {
  // The same value works for serve and for the clients that read it: HOST:PORT or http://HOST:PORT/.
  const text = input.replace(/^http:\/\//i, '').replace(/\/$/, '');
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(text) ?? /^([^:[\]]+):(\d{1,5})$/.exec(text);
  if (!m) return { problem: `"${text}" is not HOST:PORT, e.g. 127.0.0.1:9425` };
  const port = Number(m[2]);
  if (port > 65535) return { problem: `"${text}" has a port above 65535` };
  if (isIP(m[1]) === 0 && m[1] !== 'localhost') return { problem: `"${text}" needs an IP address (or localhost) as host` };
  return { host: m[1], port, spec: text };
}

/** A client's base URL for a server's --http value: HOST:PORT (as serve takes it) or a URL. */
export function httpBaseUrl(value: string): string {
  const trimmed = value.trim().replace(/\/+$/, '');
  return /^https?:\/\//i.test(trimmed) ? trimmed : `http://${trimmed}`;
}

export interface OpsSources {
  /** The registry, built when first asked for (after listening). */
  readonly metrics: () => Promise<Metrics>;
  readonly healthy: () => boolean;
  /** Lines after the status in /healthz: what an operator should know (our IPv6 identity). */
  readonly details?: () => readonly string[];
  /** The forced decisions held now (a rendering of them, see decisions-view.ts). */
  readonly decisions: DecisionsView;
  /** One domain as the server holds it, with a fresh evaluation (app/domain-report.ts). */
  readonly domain?: (name: string) => Promise<unknown>;
  /**
   * Whether /decisions and /domain, which name recipient domains, are served: always on loopback, elsewhere
   * only with http_expose_domains. /metrics and /healthz are served wherever the listener is.
   */
  readonly domainsExposed: boolean;
}

/** What the endpoints that name recipient domains answer when they are withheld. */
const WITHHELD = 'not served on this address: /decisions and /domain name recipient domains (set http_expose_domains: true to serve them off loopback)\n';

export class OpsServer {
  private server: Server | undefined;

  constructor(private readonly sources: OpsSources) {}

  async listen(endpoint: HttpEndpoint): Promise<string> {
    const server = createServer(
      {
        headersTimeout: OPS_HEADERS_TIMEOUT_MS,
        requestTimeout: OPS_REQUEST_TIMEOUT_MS,
        keepAliveTimeout: OPS_KEEP_ALIVE_MS,
        connectionsCheckingInterval: 1000,
      },
      (req, res) => void this.route(req, res),
    );
    // Past the cap new connections are closed at once (net.Server drops them after accept).
    server.maxConnections = OPS_MAX_CONNECTIONS;
    server.maxRequestsPerSocket = OPS_REQUESTS_PER_SOCKET;
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(endpoint.port, endpoint.host, () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    return isIP(endpoint.host) === 6 ? `[${endpoint.host}]:${port}` : `${endpoint.host}:${port}`;
  }

  close(): Promise<void> {
    const server = this.server;
    if (!server) return Promise.resolve();
    server.closeAllConnections();
    return new Promise((resolve) => server.close(() => resolve()));
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const [path, query = ''] = (req.url ?? '/').split('?', 2);
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', 'GET only\n');
    try {
      switch (path) {
        case '/metrics': {
          const { registry } = await this.sources.metrics();
          return send(res, 200, registry.contentType, await registry.metrics());
        }
        case '/healthz': {
          // Details (our IPv6 identity) inform; they never make the service unhealthy.
          const healthy = this.sources.healthy();
          return send(res, healthy ? 200 : 503, 'text/plain', `${[healthy ? 'ok' : 'not serving', ...(this.sources.details?.() ?? [])].join('\n')}\n`);
        }
        case '/decisions': {
          if (!this.sources.domainsExposed) return send(res, 403, 'text/plain', WITHHELD);
          const page = parsePage(query);
          if ('problem' in page) return send(res, 400, 'text/plain', `${page.problem}\n`);
          const parts = await this.sources.decisions.parts();
          return await writeJsonArray(res, parts.slice(page.offset, page.offset + page.limit));
        }
        case '/domain': {
          if (!this.sources.domainsExposed) return send(res, 403, 'text/plain', WITHHELD);
          const name = new URLSearchParams(query).get('name');
          if (!name || !this.sources.domain) return send(res, 400, 'text/plain', 'name a domain: /domain?name=example.com\n');
          return send(res, 200, 'application/json', `${JSON.stringify(await this.sources.domain(name))}\n`);
        }
        default:
          return send(res, 404, 'text/plain', 'not found: try /metrics, /healthz, /decisions or /domain?name=DOMAIN\n');
      }
    } catch (err) {
      return send(res, 500, 'text/plain', `${(err as Error).message}\n`);
    }
  }
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
