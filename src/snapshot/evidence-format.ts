/**
 * The evidence file beside the cache snapshot (`<cache_snapshot>.evidence`): what the delivery log taught
 * survives a restart. Pure: text in, rows out. A header naming the row count, then one `[key, expiresAtMs,
 * evidence]` per line; every row is checked (engine/evidence-codec.ts) and a bad one is dropped and counted,
 * the others kept. A file that is not one of these is refused whole.
 */
import { checkEvidence, isEvidenceKey } from '../engine/evidence-codec.js';
import type { EvidenceRow } from '../engine/evidence.js';
import { SnapshotError } from './format.js';

const FORMAT = 'mx4map-evidence';
const VERSION = 1;
/** Bytes a row may take (a long host name, a 160-character excerpt). */
export const EVIDENCE_BYTES_PER_ROW = 1024;

export function encodeEvidence(rows: Iterable<EvidenceRow>, savedAt: number): string {
  const lines: string[] = [];
  for (const r of rows) lines.push(JSON.stringify([r.key, r.expiresAt, r.evidence]));
  const header = JSON.stringify({ format: FORMAT, version: VERSION, savedAt, entries: lines.length });
  return `${header}\n${lines.join('\n')}${lines.length ? '\n' : ''}`;
}

export function decodeEvidence(text: string, now: number): { rows: EvidenceRow[]; expired: number; invalid: number } {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  let header: { format?: unknown; version?: unknown; entries?: unknown } | null;
  try {
    header = JSON.parse(lines[0] ?? '') as typeof header;
  } catch {
    throw new SnapshotError('line 1: not JSON');
  }
  if (header === null || typeof header !== 'object' || header.format !== FORMAT) throw new SnapshotError('not an mx4map evidence file');
  if (header.version !== VERSION) throw new SnapshotError(`evidence file version ${String(header.version)} is not ${VERSION}`);
  const promised = typeof header.entries === 'number' && Number.isSafeInteger(header.entries) && header.entries >= 0 ? header.entries : 0;
  const rows: EvidenceRow[] = [];
  let expired = 0;
  let invalid = Math.max(0, promised - (lines.length - 1));
  for (const line of lines.slice(1)) {
    const row = checkRow(line);
    if (!row) invalid++;
    else if (row.expiresAt <= now) expired++;
    else rows.push(row);
  }
  return { rows, expired, invalid };
}

function checkRow(line: string): EvidenceRow | undefined {
  let row: unknown;
  try {
    row = JSON.parse(line) as unknown;
  } catch {
    return undefined;
  }
  if (!Array.isArray(row) || row.length !== 3) return undefined;
  const [key, expiresAt, raw] = row as [unknown, unknown, unknown];
  if (typeof key !== 'string' || !isEvidenceKey(key) || typeof expiresAt !== 'number' || !Number.isFinite(expiresAt)) return undefined;
  const evidence = checkEvidence(raw);
  return evidence && { key, expiresAt, evidence };
}
