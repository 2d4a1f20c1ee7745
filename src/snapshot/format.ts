/**
 * The cache snapshot format: what lets a restart answer from memory instead of asking DNS for every busy
 * domain at once. Pure: text in, entries out. JSON lines: a header naming the entry count (so a truncated
 * file is detected), then one `[domain, expiresAtMs, decision]` per line. Any line that does not check out
 * makes the whole file corrupt: a snapshot is an optimisation, and a wrong answer is worse than DNS traffic.
 */
import { isIPv4 } from 'node:net';
import { isHostName } from '../domain/key.js';
import { Decision, LeaveReason, Trigger } from '../engine/decision.js';
import { intern } from '../engine/intern.js';

const FORMAT = 'mx4map-cache';
const VERSION = 1;

export interface SnapshotEntry {
  readonly domain: string;
  readonly decision: Decision;
  /** Wall-clock expiry (epoch ms), so the time the process was down counts against the lifetime. */
  readonly expiresAt: number;
}

export class SnapshotError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SnapshotError';
  }
}

/**
 * Worth keeping across a restart: DNS failures are short-lived, deadline answers are never cached, and
 * `local` answers depend on this host's addresses, read afresh at start.
 */
function keep(decision: Decision): boolean {
  return decision.action !== 'dns-failure' && !(decision.action === 'leave' && decision.reason === 'local');
}

/** Bytes a snapshot may take per cached decision (a line is at most ~700: a long name, ten routes). */
export const SNAPSHOT_BYTES_PER_ENTRY = 1024;

/** `rule` names the rule the decisions were made under (engine ruleFingerprint), checked at restore. */
export function encodeSnapshot(entries: Iterable<SnapshotEntry>, savedAt: number, rule: string): string {
  const lines: string[] = [];
  for (const e of entries) if (keep(e.decision)) lines.push(JSON.stringify([e.domain, e.expiresAt, e.decision]));
  const header = JSON.stringify({ format: FORMAT, version: VERSION, savedAt, rule, entries: lines.length });
  return `${header}\n${lines.join('\n')}${lines.length ? '\n' : ''}`;
}

export interface Restored {
  readonly entries: SnapshotEntry[];
  /** The rule the decisions were made under; undefined in snapshots that do not say. */
  readonly rule: string | undefined;
  /** Entries whose lifetime ran out while the server was down. */
  readonly expired: number;
}

/** Reads a snapshot; throws SnapshotError naming the first problem. Lifetimes are capped at `maxTtlMs` from now. */
export function decodeSnapshot(text: string, now: number, maxTtlMs: number): Restored {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const header = parseJson(lines[0] ?? '', 1) as { format?: unknown; version?: unknown; entries?: unknown; rule?: unknown } | null;
  if (header === null || typeof header !== 'object' || header.format !== FORMAT) throw new SnapshotError('not an mx4map cache snapshot');
  if (header.version !== VERSION) throw new SnapshotError(`snapshot version ${String(header.version)} is not ${VERSION}`);
  if (header.entries !== lines.length - 1) throw new SnapshotError(`header promises ${String(header.entries)} entries, file holds ${lines.length - 1} (truncated?)`);
  const entries: SnapshotEntry[] = [];
  let expired = 0;
  for (let i = 1; i < lines.length; i++) {
    const row = parseJson(lines[i], i + 1);
    if (!Array.isArray(row) || row.length !== 3) throw new SnapshotError(`line ${i + 1}: expected [domain, expiresAt, decision]`);
    const [domain, expiresAt, raw] = row as [unknown, unknown, unknown];
    if (typeof domain !== 'string' || !isHostName(domain)) throw new SnapshotError(`line ${i + 1}: not a domain`);
    if (typeof expiresAt !== 'number' || !Number.isFinite(expiresAt)) throw new SnapshotError(`line ${i + 1}: bad expiry`);
    const decision = checkDecision(raw);
    if (!decision) throw new SnapshotError(`line ${i + 1}: not a decision`);
    if (expiresAt <= now) {
      expired++;
      continue;
    }
    entries.push({ domain, decision: intern(decision), expiresAt: Math.min(expiresAt, now + maxTtlMs) });
  }
  return { entries, expired, rule: typeof header.rule === 'string' ? header.rule : undefined };
}

function parseJson(line: string, lineNumber: number): unknown {
  try {
    return JSON.parse(line) as unknown;
  } catch {
    throw new SnapshotError(`line ${lineNumber}: not JSON`);
  }
}

const TRIGGERS = new Set<Trigger>(['cname-mx', 'no-aaaa', 'aaaa-error', 'ipv6-unreachable', 'override']);
const LEAVE_REASONS = new Set<LeaveReason>(['nxdomain', 'null-mx', 'ipv6-ok', 'no-ipv4', 'never']);

function checkDecision(raw: unknown): Decision | undefined {
  if (raw === null || typeof raw !== 'object') return undefined;
  const d = raw as Record<string, unknown>;
  if (d.action === 'leave') return LEAVE_REASONS.has(d.reason as LeaveReason) ? { action: 'leave', reason: d.reason as LeaveReason } : undefined;
  if (d.action !== 'force-ipv4') return undefined;
  const { triggers, routes } = d;
  if (!Array.isArray(triggers) || triggers.length === 0 || !triggers.every((t) => TRIGGERS.has(t as Trigger))) return undefined;
  if (!Array.isArray(routes) || routes.length === 0) return undefined;
  for (const group of routes) {
    if (!Array.isArray(group) || group.length === 0 || !group.every((a) => typeof a === 'string' && isIPv4(a))) return undefined;
  }
  return { action: 'force-ipv4', triggers: triggers as Trigger[], routes: routes as string[][] };
}
