/**
 * Evidence that leaves the process and comes back (the snapshot's evidence file, the fleet's shared cache):
 * the row it travels as, and the check every row read from outside passes. A planted row could force a
 * domain onto IPv4 — to that domain's own addresses only, as any evidence — so it is checked as strictly
 * as a log line: known class and scope, a key naming a host name, bounded texts.
 */
import { isIP } from 'node:net';
import { isHostName } from '../domain/key.js';
import { EVIDENCE_CLASSES, type Evidence, type EvidenceClass } from './evidence.js';

const CLASSES = new Set<string>(EVIDENCE_CLASSES);
const SIGNAL = /^[a-z0-9.-]{1,40}$/;
const EXCERPT_MAX = 160;

/** Whether `key` names evidence for a domain or an MX host. */
export function isEvidenceKey(key: string): boolean {
  const colon = key.indexOf(':');
  const scope = key.slice(0, colon);
  return (scope === 'domain' || scope === 'host') && isHostName(key.slice(colon + 1));
}

/** Evidence read from outside, or undefined when anything about it does not check out. */
export function checkEvidence(raw: unknown): Evidence | undefined {
  if (raw === null || typeof raw !== 'object') return undefined;
  const e = raw as Record<string, unknown>;
  if (typeof e.class !== 'string' || !CLASSES.has(e.class)) return undefined;
  if (e.scope !== 'domain' && e.scope !== 'host') return undefined;
  if (typeof e.signal !== 'string' || !SIGNAL.test(e.signal)) return undefined;
  if (typeof e.seenAt !== 'number' || !Number.isFinite(e.seenAt)) return undefined;
  if (typeof e.relay !== 'string' || (e.relay !== '' && !isHostName(e.relay))) return undefined;
  if (e.address !== undefined && (typeof e.address !== 'string' || isIP(e.address) === 0)) return undefined;
  if (typeof e.excerpt !== 'string' || e.excerpt.length > EXCERPT_MAX) return undefined;
  return {
    class: e.class as EvidenceClass,
    scope: e.scope,
    signal: e.signal,
    seenAt: e.seenAt,
    relay: e.relay,
    excerpt: e.excerpt,
    ...(e.address !== undefined ? { address: e.address as string } : {}),
  };
}
