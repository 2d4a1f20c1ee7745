/**
 * Open files. Every client connection, DNS socket, probe, ops connection and file read takes a descriptor,
 * and a process past its open-file limit fails them at random (EMFILE): a DNS burst could reset a sendmail
 * connection, or clients starve DNS. So the connection cap is derived from the limit, with a reserve kept
 * for everything else.
 */
import { readFileSync } from 'node:fs';
import type { Config } from '../config/options.js';
import { OPS_MAX_CONNECTIONS } from '../ops/http.js';

/** Descriptors kept for what is not a client connection. */
export interface Reserve {
  readonly dns: number;
  readonly probes: number;
  readonly ops: number;
  /** stdio, listeners, the event loop's own, log, snapshot and override files. */
  readonly base: number;
}

const BASE_RESERVED = 64;
/** Used when the limit cannot be read (no /proc): the usual soft default. */
const ASSUMED_LIMIT = 1024;
/** However small the limit, `auto` keeps room for this many clients. */
const MIN_AUTO_CAP = 16;

/** The soft open-file limit, from /proc/self/limits (Node has no getrlimit); undefined where unreadable. */
export function openFileLimit(limitsText?: string): number | undefined {
  let text = limitsText;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/limits', 'utf8');
    } catch {
      return undefined;
    }
  }
  const m = /^Max open files\s+(\d+|unlimited)\s/m.exec(text);
  if (!m) return undefined;
  return m[1] === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(m[1]);
}

export interface ConnectionCap {
  readonly cap: number;
  readonly limit: number;
  readonly limitKnown: boolean;
  readonly reserve: Reserve;
  /** Set when a configured cap leaves less than the reserve: EMFILE would then hit DNS and probes. */
  readonly warning?: string;
}

export function reserveFor(config: Pick<Config, 'probeConcurrency' | 'dnsMaxInFlight'>): Reserve {
  return { dns: config.dnsMaxInFlight, probes: config.probeConcurrency, ops: OPS_MAX_CONNECTIONS, base: BASE_RESERVED };
}

export function reserveTotal(r: Reserve): number {
  return r.dns + r.probes + r.ops + r.base;
}

export function connectionCap(config: Pick<Config, 'maxConnections' | 'probeConcurrency' | 'dnsMaxInFlight'>, limit: number | undefined): ConnectionCap {
  const known = limit !== undefined;
  const fileLimit = limit ?? ASSUMED_LIMIT;
  const reserve = reserveFor(config);
  const room = fileLimit - reserveTotal(reserve);
  if (config.maxConnections === 'auto') return { cap: Math.max(MIN_AUTO_CAP, room), limit: fileLimit, limitKnown: known, reserve };
  const cap = config.maxConnections;
  const warning =
    known && cap > room
      ? `max_connections ${cap} leaves less than ${reserveTotal(reserve)} of the open-file limit ${fileLimit} for DNS, probes and files; raise the limit (LimitNOFILE) or use max_connections: auto`
      : undefined;
  return { cap, limit: fileLimit, limitKnown: known, reserve, warning };
}

/** One line for check-config and the start log: where the cap comes from. */
export function describeCap(c: ConnectionCap): string {
  const r = c.reserve;
  const limit = c.limitKnown ? `open-file limit ${c.limit}` : `open-file limit unknown, ${c.limit} assumed`;
  return `${c.cap} connections (${limit}; ${reserveTotal(r)} reserved: ${r.dns} DNS sockets, ${r.probes} probes, ${r.ops} ops connections, ${r.base} files and listeners)`;
}
