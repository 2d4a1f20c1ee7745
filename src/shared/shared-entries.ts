/**
 * What the fleet's shared cache holds, and how it is written and read back. Pure. Keys are namespaced
 * (`mx4map:`), versioned (a new format is a new key space, never a misread) and, for decisions, carry the
 * rule they were made under, so instances with different trigger settings never answer each other's
 * decisions. Values are JSON checked on read as strictly as a snapshot line: anything that does not check
 * out is a miss.
 */
import { createHash } from 'node:crypto';
import { Decision } from '../engine/decision.js';
import { checkDecision, keep } from '../snapshot/format.js';
import { PROBE_OUTCOMES, ProbeOutcome, ProbeResult } from '../probe/smtp-probe.js';

/** Bumped whenever a key or value changes shape. */
const FORMAT_VERSION = 1;
const PREFIX = `mx4map:${FORMAT_VERSION}`;

/** `rule` is the engine's rule fingerprint, kept short in the key by a hash. */
export function decisionKey(rule: string, domain: string): string {
  return `${PREFIX}:decision:${createHash('sha256').update(rule).digest('hex').slice(0, 16)}:${domain}`;
}

/** Probe verdicts depend on the port probed as well as the address. */
export function probeKey(port: number, address: string): string {
  return `${PREFIX}:probe:${port}:${address}`;
}

export function probeLeaseKey(port: number, address: string): string {
  return `${PREFIX}:probe-lease:${port}:${address}`;
}

/** Whether a decision is worth sharing: the kind a snapshot keeps (no DNS failures, no `local` answers). */
export function shareable(decision: Decision): boolean {
  return keep(decision);
}

/**
 * A decision's value. Its key expires with the decision's whole kept life (fresh plus stale); the value
 * says how much of that life is stale, so a reader knows, from the key's remaining time alone, whether the
 * decision is still fresh: no clock is compared between hosts.
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

/** Reads a decision's value given its key's remaining time (PTTL); undefined when it does not check out. */
export function decodeDecision(text: string, pttlMs: number): SharedDecision | undefined {
  if (!(pttlMs > 0)) return undefined;
  const value = parse(text);
  if (!value || typeof value.s !== 'number' || !Number.isFinite(value.s) || value.s < 0) return undefined;
  const decision = checkDecision(value.d);
  if (!decision) return undefined;
  return { decision, freshMs: pttlMs - value.s, keptMs: pttlMs };
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
