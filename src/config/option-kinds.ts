/**
 * The kinds of value the option table uses beyond the generic ones (text/values.ts): each parses once, into
 * the typed value the daemon uses, and shows it back for messages, the README table and `check-config`.
 */
import { isIP } from 'node:net';
import type { DnsServer } from '../dns/transport.js';
import { formatDnsServer, parseDnsServer } from '../dns/servers.js';
import { isPatternFile, normalisePattern } from '../domain/domain-set.js';
import { parseAddressItem } from '../engine/locality.js';
import { EndpointError } from '../errors.js';
import { isSpecialAddress } from '../net/special-address.js';
import { type HttpEndpoint, parseHttpListen } from '../ops/http.js';
import { type Endpoint, parseEndpoint } from '../protocol/endpoint.js';
import { type ValueKind, ValueProblem, describe } from '../text/values.js';

export const endpoint: ValueKind<Endpoint> = {
  syntax: 'inet:PORT@HOST | inet6:PORT@HOST | unix:/path',
  parse(value) {
    if (typeof value !== 'string') throw new ValueProblem('must be a socket spec such as inet:8425@127.0.0.1');
    try {
      return parseEndpoint(value);
    } catch (err) {
      if (err instanceof EndpointError) throw new ValueProblem(`is wrong: ${err.message}`);
      throw err;
    }
  },
  show: (e) => e.spec,
};

export const dnsServer: ValueKind<DnsServer> = {
  syntax: 'HOST:PORT | [v6]:PORT | HOST',
  parse(value) {
    const server = typeof value === 'string' ? parseDnsServer(value) : { problem: 'must be an address such as 127.0.0.1:53' };
    if ('problem' in server) {
      // `"notaserver" is not an IP address …` reads, after the option's name, as `has "notaserver": not an IP address …`.
      const quoted = /^("[^"]*") (?:is |has )?(.*)$/.exec(server.problem);
      throw new ValueProblem(quoted ? `has ${quoted[1]}: ${quoted[2]}` : server.problem);
    }
    return server;
  },
  show: formatDnsServer,
};

/** A domain pattern (`example.com`, `.example.com`) or the absolute path of a file of them. */
export const domainPattern: ValueKind<string> = {
  syntax: 'domain | .suffix | /path/to/file',
  parse(value) {
    if (typeof value !== 'string') throw new ValueProblem('must be a domain, a .suffix or a file path');
    if (isPatternFile(value)) return value;
    // A file named any other way would silently become a domain pattern and never be read.
    const relative = relativeFileName(value.trim());
    if (relative)
      throw new ValueProblem(
        `has "${value}", a relative file name: name a pattern file by its absolute path (/etc/mx4map/${relative}), or write the domain itself`,
      );
    const p = normalisePattern(value);
    if (typeof p !== 'string') throw new ValueProblem(`has ${p.problem}`);
    return p;
  },
  show: String,
};

/** File suffixes that are no top-level domain: a pattern ending in one names a file, not a domain. */
const FILE_SUFFIXES = ['list', 'lst', 'txt', 'conf', 'yml', 'yaml', 'db', 'patterns'];

/** The file name in `value` when it is a relative path (`lists/strict.list`, `./x`, `strict.list`). */
function relativeFileName(value: string): string | undefined {
  if (value.includes('/')) return value.slice(value.lastIndexOf('/') + 1) || value;
  const suffix = value.slice(value.lastIndexOf('.') + 1).toLowerCase();
  return value.includes('.') && FILE_SUFFIXES.includes(suffix) ? value : undefined;
}

/** A force_ipv4 pattern: a domain pattern that may end in `!` (force even when the domain publishes DANE or MTA-STS). */
export const forcePattern: ValueKind<string> = {
  syntax: 'domain[!] | .suffix[!] | /path/to/file',
  parse(value) {
    if (typeof value !== 'string' || !value.trim().endsWith('!')) return domainPattern.parse(value);
    return `${domainPattern.parse(value.trim().slice(0, -1))}!`;
  },
  show: String,
};

/** An IP address or prefix counted as this host's own (local_addresses). */
export const ownAddress: ValueKind<string> = {
  syntax: 'IP address | prefix',
  parse(value) {
    const parsed = typeof value === 'string' ? parseAddressItem(value) : { problem: `${describe(value)} is not an IP address` };
    if ('problem' in parsed) throw new ValueProblem(`has ${parsed.problem}`);
    return (value as string).trim();
  },
  show: String,
};

/** An IPv6 address this host sends mail from (ipv6_source). */
export const sourceAddress: ValueKind<string> = {
  syntax: 'IPv6 address',
  parse(value) {
    if (typeof value !== 'string' || isIP(value.trim()) !== 6 || value.includes('%'))
      throw new ValueProblem(`has ${describe(value)}, not an IPv6 address (2001:db8::25)`);
    if (isSpecialAddress(value.trim()))
      throw new ValueProblem(`has ${describe(value)}, a special-purpose address (loopback, link-local …) that mail is not sent from`);
    return value.trim();
  },
  show: String,
};

/** The operations listener: empty (off: undefined) or HOST:PORT, parsed once. */
export const httpListen: ValueKind<HttpEndpoint | undefined> = {
  syntax: 'HOST:PORT',
  parse(value) {
    if (typeof value !== 'string') throw new ValueProblem(`must be HOST:PORT, got ${describe(value)}`);
    if (value === '') return undefined;
    const parsed = parseHttpListen(value);
    if ('problem' in parsed) throw new ValueProblem(`has ${parsed.problem}`);
    return parsed;
  },
  show: (v) => (v === undefined ? '(none)' : v.spec),
};
