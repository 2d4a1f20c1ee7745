/**
 * What the fleet's shared cache holds, and how it is written and read back. Pure. Keys are namespaced
 * (`mx4map:`), versioned (a new format is a new key space, never a misread) and, for decisions, carry the
 * rule they were made under, so instances with different trigger settings never answer each other's
 * decisions. Values are JSON checked on read as strictly as a snapshot line: anything that does not check
 * out is a miss.
 */
import { createHash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import { isHostName } from '../domain/key.js';
import type { Decision } from '../engine/decision.js';
import type { AddressFacts, HostFacts } from '../engine/facts.js';
import { isSpecialAddress } from '../net/special-address.js';
import { checkDecision, keep } from '../engine/decision-codec.js';
import { checkEvidence } from '../engine/evidence-codec.js';
import type { Evidence } from '../engine/evidence.js';
import { PROBE_OUTCOMES, type ProbeOutcome, type ProbeResult } from '../probe/smtp-probe.js';

/** Bumped whenever a key or value changes shape (2: values sealed, see value-seal.ts). */
const FORMAT_VERSION = 2;
const PREFIX = `mx4map:${FORMAT_VERSION}`;

/** `rule` is the engine's rule fingerprint, kept short in the key by a hash. */
export function decisionKey(rule: string, domain: string): string {
  return `${PREFIX}:decision:${createHash('sha256').update(rule).digest('hex').slice(0, 16)}:${domain}`;
}

/** Probe verdicts depend on the port probed as well as the address. */
export function probeKey(port: number, address: string): string {
  return `${PREFIX}:probe:${port}:${address}`;
}

/** An MX host's facts are the same for every domain and rule: keyed by the host name alone. */
export function hostKey(name: string): string {
  return `${PREFIX}:host:${name}`;
}

/** Delivery-log evidence, keyed as the evidence book keys it (`domain:<name>`, `host:<name>`). */
export function evidenceKey(key: string): string {
  return `${PREFIX}:evidence:${key}`;
}

export function probeLeaseKey(port: number, address: string): string {
  return `${PREFIX}:probe-lease:${port}:${address}`;
}

/** Whether a decision is worth sharing: the kind a snapshot keeps (no DNS failures, no `local` answers). */
export function shareable(decision: Decision): boolean {
  return keep(decision);
}

/**
 * A decision's value. It lives the decision's whole kept life (fresh plus stale), sealed with its expiry;
 * the value says how much of that life is stale, so a reader knows from the remaining life whether the
 * decision is still fresh.
 */
export function encodeDecision(decision: Decision, staleMs: number): string {
  return JSON.stringify({ d: decision, s: staleMs });
}

export interface SharedDecision {
  readonly decision: Decision;
  /** Fresh for this long from now; 0 or less: expired, kept for stale answers until `keptMs`. */
  readonly freshMs: number;
  readonly keptMs: number;
}

/** Reads a decision's value given its remaining life; undefined when it does not check out. */
export function decodeDecision(text: string, pttlMs: number): SharedDecision | undefined {
  if (!(pttlMs > 0)) return undefined;
  const value = parse(text);
  if (!value || typeof value.s !== 'number' || !Number.isFinite(value.s) || value.s < 0) return undefined;
  const decision = checkDecision(value.d);
  if (!decision) return undefined;
  return { decision, freshMs: pttlMs - value.s, keptMs: pttlMs };
}

/** A host's facts as stored: without the TTL, which the sealed expiry carries. */
export function encodeHost(facts: HostFacts): string {
  const { ttl: _ttl, ...rest } = facts;
  return JSON.stringify(rest);
}

/** Most names in a CNAME chain or addresses believed from one value (the resolver's own limits are lower). */
const MAX_NAMES = 16;
const MAX_ADDRESSES = 64;

/**
 * Reads a host's facts given their remaining life; undefined unless every field checks out: the
 * names are host names, the chain starts at `name`, addresses are of their family and not special-purpose.
 * At most `maxAddresses` of each family are kept (the reader's own setting), the rest counted as dropped.
 */
export function decodeHost(name: string, text: string, pttlMs: number, maxAddresses: number): HostFacts | undefined {
  if (!(pttlMs > 0)) return undefined;
  const value = parse(text);
  if (!value || value.name !== name || typeof value.canonical !== 'string' || !isHostName(value.canonical)) return undefined;
  const aliases = value.aliases;
  if (!Array.isArray(aliases) || aliases.length > MAX_NAMES || !aliases.every((a) => typeof a === 'string' && isHostName(a))) return undefined;
  const a = checkAddressFacts(value.a, isIPv4, maxAddresses);
  const aaaa = checkAddressFacts(value.aaaa, isIPv6, maxAddresses);
  if (!a || !aaaa || a.kind === 'failure' || aaaa.kind === 'failure') return undefined;
  return { name, aliases: aliases as string[], canonical: value.canonical, a, aaaa, ttl: pttlMs / 1000 };
}

function checkAddressFacts(value: unknown, family: (a: string) => boolean, maxAddresses: number): AddressFacts | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const v = value as Record<string, unknown>;
  const flag = v.authenticated === true ? { authenticated: true as const } : v.authenticated === undefined ? {} : undefined;
  const special = v.special;
  const shown =
    special === undefined
      ? {}
      : Array.isArray(special) && special.length <= MAX_NAMES && special.every((a) => typeof a === 'string' && family(a) && isSpecialAddress(a))
        ? { special: special as string[] }
        : undefined;
  if (!flag || !shown || typeof v.ttl !== 'number' || !Number.isFinite(v.ttl) || v.ttl < 0) return undefined;
  switch (v.kind) {
    case 'nxdomain':
      return { kind: 'nxdomain', ttl: v.ttl, ...flag };
    case 'nodata':
      return { kind: 'nodata', ttl: v.ttl, ...shown, ...flag };
    case 'records': {
      const addresses = v.addresses;
      if (!Array.isArray(addresses) || addresses.length === 0 || addresses.length > MAX_ADDRESSES) return undefined;
      if (!addresses.every((a) => typeof a === 'string' && family(a) && !isSpecialAddress(a)) || new Set(addresses).size !== addresses.length) return undefined;
      const earlier = v.dropped === undefined ? 0 : typeof v.dropped === 'number' && Number.isInteger(v.dropped) && v.dropped > 0 ? v.dropped : undefined;
      if (earlier === undefined) return undefined;
      const kept = (addresses as string[]).slice(0, maxAddresses);
      const dropped = earlier + addresses.length - kept.length;
      return { kind: 'records', addresses: kept, ttl: v.ttl, ...(dropped ? { dropped } : {}), ...shown, ...flag };
    }
    default:
      return undefined;
  }
}

const OUTCOMES = new Set<string>(PROBE_OUTCOMES);

export function encodeProbe(result: ProbeResult): string {
  return JSON.stringify({ ok: result.ok, o: result.outcome, d: result.detail, ms: result.ms });
}

export function decodeProbe(text: string): ProbeResult | undefined {
  const value = parse(text);
  if (!value || typeof value.ok !== 'boolean' || typeof value.o !== 'string' || !OUTCOMES.has(value.o)) return undefined;
  if (typeof value.d !== 'string' || value.d.length > 100 || typeof value.ms !== 'number' || !Number.isFinite(value.ms) || value.ms < 0) return undefined;
  // A verdict that contradicts itself is not believed.
  if (value.ok !== (value.o === 'ok')) return undefined;
  return { ok: value.ok, outcome: value.o as ProbeOutcome, detail: value.d, ms: value.ms };
}

function parse(text: string): Record<string, unknown> | undefined {
  if (text.length > 4096) return undefined;
  try {
    const value = JSON.parse(text) as unknown;
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export function encodeEvidence(evidence: Evidence): string {
  return JSON.stringify(evidence);
}

/** Evidence as another instance read it from its log; undefined unless it checks out (engine/evidence-codec.ts). */
export function decodeEvidence(text: string): Evidence | undefined {
  return checkEvidence(parse(text));
}
