/**
 * The `delivery_log` files, followed: each line through the one classifier (learn/delivery-failure.ts), each
 * failure IPv4 cures handed to the engine, which checks the relay against the domain's MX hosts before it
 * becomes evidence. Polled on a timer, each poll bounded (learn/log-follower.ts); reports checked a few at
 * a time, with a bounded queue, so a flood of log lines costs bounded DNS and memory.
 */
import type { Logger } from 'pino';
import type { DomainSet } from '../domain/domain-set.js';
import type { Engine } from '../engine/engine.js';
import { EVIDENCE_CLASSES, type EvidenceClass, REPORT_OUTCOMES, type ReportOutcome } from '../engine/evidence.js';
import { patternFor } from '../learn/bounce-lines.js';
import { LogBudget } from '../limits/log-budget.js';
import { MAX_LINE } from '../learn/delivery-line.js';
import { type DeliveryFailure, classifyFailure } from '../learn/delivery-failure.js';
import { type FollowerState, LogFollower } from '../learn/log-follower.js';

/** How often the followed logs are read. */
export const POLL_MS = 500;
/** Reports checked against DNS at once, and waiting at most. */
const CHECKING = 8;
const QUEUED = 1000;
const SUGGESTED_HOSTS = 10_000;

export interface DeliveryLogCounts {
  /** Failures found in the logs, by class, before their relay is checked. */
  readonly failures: Record<EvidenceClass, number>;
  /** What became of them. */
  readonly outcomes: Record<ReportOutcome | 'dropped', number>;
}

export class DeliveryLogs {
  private readonly followers = new Map<string, LogFollower>();
  private readonly queue: DeliveryFailure[] = [];
  private checking = 0;
  private timer: NodeJS.Timeout | undefined;
  /** MX hosts already told about: one suggestion each (at most SUGGESTED_HOSTS remembered). */
  private readonly suggested = new Set<string>();
  private readonly warnings = new LogBudget();
  readonly counts: DeliveryLogCounts = {
    failures: Object.fromEntries(EVIDENCE_CLASSES.map((c) => [c, 0])) as Record<EvidenceClass, number>,
    outcomes: Object.fromEntries([...REPORT_OUTCOMES, 'dropped'].map((o) => [o, 0])) as Record<ReportOutcome | 'dropped', number>,
  };

  constructor(
    private readonly engine: Engine,
    private readonly log: Logger,
    private readonly strictReceivers: () => DomainSet,
  ) {}

  /** Follows exactly `paths` from now on (at start and on reload); a log already followed keeps its place. */
  configure(paths: readonly string[]): void {
    for (const [path, follower] of this.followers) {
      if (paths.includes(path)) continue;
      this.followers.delete(path);
      void follower.close();
    }
    for (const path of paths) {
      if (this.followers.has(path)) continue;
      this.followers.set(
        path,
        new LogFollower(
          path,
          (line) => this.onLine(line),
          { maxLine: MAX_LINE },
          (state) => this.onStatus(state),
        ),
      );
    }
    if (this.followers.size > 0 && !this.timer) {
      this.timer = setInterval(() => void this.poll(), POLL_MS).unref();
      void this.poll();
    } else if (this.followers.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  /** Reads every followed log once (the timer calls it; so may tests). */
  async poll(): Promise<void> {
    await Promise.all([...this.followers.values()].map((f) => f.poll()));
  }

  get states(): FollowerState[] {
    return [...this.followers.values()].map((f) => f.state);
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await Promise.all([...this.followers.values()].map((f) => f.close()));
  }

  private onLine(line: string): void {
    const failure = classifyFailure(line);
    if (!failure) return;
    this.counts.failures[failure.class]++;
    if (this.queue.length >= QUEUED) {
      this.counts.outcomes.dropped++;
      return;
    }
    this.queue.push(failure);
    this.next();
  }

  private next(): void {
    while (this.checking < CHECKING && this.queue.length > 0) {
      const failure = this.queue.shift() as DeliveryFailure;
      this.checking++;
      this.engine
        .acceptFailure(failure)
        .then(
          (outcome) => this.report(failure, outcome),
          (err: unknown) => this.log.error({ evt: 'delivery-evidence-failed', domain: failure.domain, err }, 'checking a delivery-log failure failed'),
        )
        .finally(() => {
          this.checking--;
          this.next();
        });
    }
  }

  private report(f: DeliveryFailure, outcome: ReportOutcome): void {
    this.counts.outcomes[outcome]++;
    const fields = { evt: 'delivery-evidence', domain: f.domain, relay: f.host, address: f.address, class: f.class, signal: f.signal, outcome };
    if (outcome === 'new') {
      this.log.info(
        fields,
        `${f.domain}: delivery over IPv6 failed (${f.class}: ${f.signal}) via ${f.host ?? 'no relay'}; forced onto IPv4 (ipv6-delivery-failed)`,
      );
    } else if (outcome === 'foreign-relay') {
      // Anyone who can write to the log can write such lines: their warnings are bounded.
      const budget = this.warnings.take('foreign-relay');
      if (budget)
        this.log.warn(
          { ...fields, suppressed: budget.suppressed || undefined },
          `${f.domain}: a logged IPv6 failure names ${f.host ?? 'no relay'}, not one of the domain's MX hosts: not evidence`,
        );
    } else {
      this.log.debug(fields, `${f.domain}: delivery-log failure ${outcome}`);
    }
    const host = f.host;
    if ((f.class === 'ptr' || f.class === 'auth6') && host && outcome !== 'foreign-relay' && !this.strictReceivers().has(host) && !this.suggested.has(host)) {
      if (this.suggested.size >= SUGGESTED_HOSTS) this.suggested.clear();
      this.suggested.add(host);
      this.log.info(
        { evt: 'strict-receiver-suggested', host, pattern: patternFor(host) },
        `${host} rejects IPv6 senders for their reverse DNS and is not in strict_receivers: add ${patternFor(host)} (mx4map learn --write does) so sender-ipv6-unready covers its other domains before they fail`,
      );
    }
  }

  private onStatus(state: FollowerState): void {
    const fields = { evt: `delivery-log-${state.status}`, path: state.path, problem: state.problem };
    if (state.status === 'open') this.log.info(fields, `following ${state.path}`);
    else if (state.status === 'missing') this.log.warn(fields, `${state.path} does not exist (yet): waiting for it`);
    else if (state.status === 'error') this.log.warn(fields, `cannot read ${state.path} (${state.problem}); trying again`);
  }
}
