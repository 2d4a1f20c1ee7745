/**
 * Keeps the cache snapshot: restores it at start, saves it on a timer and once more at shutdown. Every
 * failure is logged and survived: without a snapshot the server simply starts with an empty cache.
 */
import type { Logger } from 'pino';
import { SNAPSHOT_BYTES_PER_ENTRY, type SnapshotEntry, SnapshotError, decodeSnapshot, encodeSnapshot } from './format.js';
import { readIfPresent } from './file.js';
import { writeFileAtomically } from '../files/atomic-write.js';
import type { EvidenceRow } from '../engine/evidence.js';
import { EVIDENCE_BYTES_PER_ROW, decodeEvidence, encodeEvidence } from './evidence-format.js';

export interface SnapshotSource {
  snapshotEntries(): Iterable<SnapshotEntry>;
  /** Takes entries back; `rule` is what they were made under. */
  restore(entries: Iterable<SnapshotEntry>, rule: string | undefined): { restored: number; dropped: number };
  /** The rule decisions are made under now. */
  readonly rule: string;
  /** Delivery-log evidence, kept in `<path>.evidence` beside the decisions. */
  evidenceRows?(): Iterable<EvidenceRow>;
  restoreEvidence?(rows: Iterable<EvidenceRow>): number;
}

export interface SnapshotLimits {
  readonly maxTtlMs: number;
  /** Decisions the cache holds: bounds the file size read back. */
  readonly cacheSize: number;
  /** Pieces of evidence held at most: bounds the evidence file read back. */
  readonly maxEvidence?: number;
}

export class SnapshotKeeper {
  private timer: NodeJS.Timeout | undefined;
  private saving: Promise<void> | undefined;

  constructor(
    private readonly path: string,
    private readonly cache: SnapshotSource,
    private readonly limits: () => SnapshotLimits,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  private get evidencePath(): string {
    return `${this.path}.evidence`;
  }

  async load(): Promise<void> {
    await this.loadDecisions();
    this.loadEvidence();
  }

  /** The delivery-log evidence beside the decisions; every failure is logged and survived. */
  private loadEvidence(): void {
    const restore = this.cache.restoreEvidence?.bind(this.cache);
    if (!restore) return;
    try {
      const text = readIfPresent(this.evidencePath, ((this.limits().maxEvidence ?? 0) + 1) * EVIDENCE_BYTES_PER_ROW);
      if (text === undefined) return;
      const { rows, expired, invalid } = decodeEvidence(text, this.now());
      const restored = restore(rows);
      this.log.info({ evt: 'evidence-loaded', path: this.evidencePath, restored, expired, invalid }, `restored ${restored} pieces of delivery-log evidence`);
    } catch (err) {
      this.log.warn({ evt: 'evidence-ignored', path: this.evidencePath, error: (err as Error).message }, 'evidence file unreadable or corrupt; ignored');
    }
  }

  private async loadDecisions(): Promise<void> {
    let text: string | undefined;
    const { maxTtlMs, cacheSize } = this.limits();
    try {
      text = readIfPresent(this.path, (cacheSize + 1) * SNAPSHOT_BYTES_PER_ENTRY);
    } catch (err) {
      this.log.warn({ evt: 'snapshot-ignored', path: this.path, error: (err as Error).message }, 'cache snapshot unreadable; starting with an empty cache');
      return;
    }
    if (text === undefined) {
      this.log.info({ evt: 'snapshot-absent', path: this.path }, 'no cache snapshot yet; starting with an empty cache');
      return;
    }
    try {
      const snapshot = decodeSnapshot(text, this.now(), maxTtlMs);
      const { restored, dropped } = this.cache.restore(snapshot.entries, snapshot.rule);
      const { expired, invalid, firstProblem } = snapshot;
      this.log.info(
        { evt: 'snapshot-loaded', path: this.path, restored, expired, dropped, invalid, firstProblem },
        `restored ${restored} cached decisions (${expired} had expired, ${dropped} no longer fit the configuration, ${invalid} invalid)`,
      );
    } catch (err) {
      if (!(err instanceof SnapshotError)) throw err;
      this.log.warn({ evt: 'snapshot-ignored', path: this.path, error: err.message }, 'cache snapshot is corrupt; ignored, starting with an empty cache');
    }
  }

  start(intervalMs: number): void {
    this.timer = setInterval(() => void this.save(), intervalMs);
    this.timer.unref();
  }

  /** Writes the snapshot now; a save already under way is joined, not doubled. */
  save(): Promise<void> {
    this.saving ??= this.write().finally(() => (this.saving = undefined));
    return this.saving;
  }

  /** Stops the timer and writes a last snapshot (shutdown). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.saving;
    await this.save();
  }

  private async write(): Promise<void> {
    const started = performance.now();
    try {
      const text = encodeSnapshot(this.cache.snapshotEntries(), this.now(), this.cache.rule);
      await writeFileAtomically(this.path, text);
      const rows = this.cache.evidenceRows?.();
      if (rows) await writeFileAtomically(this.evidencePath, encodeEvidence(rows, this.now()));
      this.log.debug(
        { evt: 'snapshot-saved', path: this.path, bytes: Buffer.byteLength(text), ms: Math.round(performance.now() - started) },
        'cache snapshot saved',
      );
    } catch (err) {
      this.log.error({ evt: 'snapshot-failed', path: this.path, error: (err as Error).message }, 'cache snapshot could not be saved');
    }
  }
}
