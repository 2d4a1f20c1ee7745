/**
 * The cache snapshot format: what lets a restart answer from memory instead of asking DNS for every busy
 * domain at once. Pure: text in, entries out. JSON lines: a header naming the entry count (so a truncated
 * file is detected), then one `[domain, expiresAtMs, decision]` per line, with a fourth element, the time
 * until which an expired decision is kept to be answered stale, when there is one. Every entry is checked as
 * strictly as a DNS answer: one that does not check out — a line cut short, a route to 127.0.0.1, a reason
 * an older or newer build wrote — is dropped and counted, and the others are kept: a wrong answer is worse
 * than DNS traffic, and one bad line must not cost the whole cache. A file that is not a snapshot of this
 * version is refused whole.
 */
import { isHostName } from '../domain/key.js';
import { type KeptDecision, checkDecision, keep } from '../engine/decision-codec.js';
import { intern } from '../engine/intern.js';

/** A snapshot line: a kept decision with wall-clock times. */
export type SnapshotEntry = KeptDecision;

const FORMAT = 'mx4map-cache';
const VERSION = 1;

export class SnapshotError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SnapshotError';
  }
}

/** Bytes a snapshot may take per cached decision (a line is at most ~700: a long name, ten routes). */
export const SNAPSHOT_BYTES_PER_ENTRY = 1024;

/** `rule` names the rule the decisions were made under (engine ruleFingerprint), checked at restore. */
export function encodeSnapshot(entries: Iterable<SnapshotEntry>, savedAt: number, rule: string): string {
  const lines: string[] = [];
  for (const e of entries)
    if (keep(e.decision))
      lines.push(JSON.stringify(e.staleUntil === undefined ? [e.domain, e.expiresAt, e.decision] : [e.domain, e.expiresAt, e.decision, e.staleUntil]));
  const header = JSON.stringify({ format: FORMAT, version: VERSION, savedAt, rule, entries: lines.length });
  return `${header}\n${lines.join('\n')}${lines.length ? '\n' : ''}`;
}

export interface Restored {
  readonly entries: SnapshotEntry[];
  /** The rule the decisions were made under; undefined in snapshots that do not say. */
  readonly rule: string | undefined;
  /** Entries whose lifetime ran out while the server was down. */
  readonly expired: number;
  /** Entries that did not check out (dropped), lines the header promised that are missing included. */
  readonly invalid: number;
  /** The first problem found among them, for the log. */
  readonly firstProblem?: string;
}

/** Reads a snapshot; throws SnapshotError when it is not one. Lifetimes are capped at `maxTtlMs` from now. */
export function decodeSnapshot(text: string, now: number, maxTtlMs: number): Restored {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const header = parseJson(lines[0] ?? '', 1) as { format?: unknown; version?: unknown; entries?: unknown; rule?: unknown } | null;
  if (header === null || typeof header !== 'object' || header.format !== FORMAT) throw new SnapshotError('not an mx4map cache snapshot');
  if (header.version !== VERSION) throw new SnapshotError(`snapshot version ${String(header.version)} is not ${VERSION}`);
  const promised = typeof header.entries === 'number' && Number.isSafeInteger(header.entries) && header.entries >= 0 ? header.entries : undefined;
  if (promised === undefined) throw new SnapshotError('header names no entry count');
  const entries: SnapshotEntry[] = [];
  let expired = 0;
  let invalid = 0;
  let firstProblem = promised > lines.length - 1 ? `header promises ${promised} entries, file holds ${lines.length - 1} (truncated?)` : undefined;
  for (let i = 1; i < lines.length; i++) {
    const entry = checkEntry(lines[i]);
    if (typeof entry === 'string') {
      invalid++;
      firstProblem ??= `line ${i + 1}: ${entry}`;
      continue;
    }
    if (Math.max(entry.expiresAt, entry.staleUntil ?? 0) <= now) {
      expired++;
      continue;
    }
    entries.push({ ...entry, expiresAt: Math.min(entry.expiresAt, now + maxTtlMs) });
  }
  invalid += Math.max(0, promised - (lines.length - 1));
  return { entries, expired, invalid, rule: typeof header.rule === 'string' ? header.rule : undefined, ...(firstProblem ? { firstProblem } : {}) };
}

/** One entry line, or what is wrong with it. */
function checkEntry(line: string): SnapshotEntry | string {
  let row: unknown;
  try {
    row = JSON.parse(line) as unknown;
  } catch {
    return 'not JSON';
  }
  if (!Array.isArray(row) || row.length < 3 || row.length > 4) return 'expected [domain, expiresAt, decision, staleUntil?]';
  const [domain, expiresAt, raw, staleUntil] = row as [unknown, unknown, unknown, unknown];
  if (typeof domain !== 'string' || !isHostName(domain)) return 'not a domain';
  if (typeof expiresAt !== 'number' || !Number.isFinite(expiresAt)) return 'bad expiry';
  if (staleUntil !== undefined && (typeof staleUntil !== 'number' || !Number.isFinite(staleUntil) || staleUntil < expiresAt)) return 'bad stale time';
  const decision = checkDecision(raw);
  if (!decision) return 'not a decision';
  return { domain, decision: intern(decision), expiresAt, ...(staleUntil !== undefined ? { staleUntil } : {}) };
}

function parseJson(line: string, lineNumber: number): unknown {
  try {
    return JSON.parse(line) as unknown;
  } catch {
    throw new SnapshotError(`line ${lineNumber}: not JSON`);
  }
}
