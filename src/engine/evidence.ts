/**
 * Evidence from the MTA's own delivery log that mail to a domain fails over IPv6 in a way IPv4 cures
 * (trigger `ipv6-delivery-failed`). A log line is text partly written by remote servers and local users,
 * so a report becomes evidence only when the relay it names is the domain's own MX host in our DNS view
 * (or, for sendmail's `bind` line, the domain itself), and it can only ever force IPv4 for that domain —
 * never route anywhere but the domain's own IPv4 addresses, never un-force. Reverse-DNS and SPF/DKIM
 * rejections are kept for the MX host as well: every domain that host serves fails the same way.
 *
 * Evidence lives `evidence_ttl` (renewed by new failures), then the domain goes back to DNS's verdict.
 * A single failed IPv6 connection proves little (a transient outage): `connect` needs CONNECT_FAILURES
 * within CONNECT_WINDOW_MS. Entries are bounded (`max_evidence`, least recently seen dropped first).
 */
import { type FleetShelf, Tier } from '../cache/tier.js';
import { TtlCache } from '../cache/ttl-cache.js';
import type { MxFacts } from './facts.js';

export const EVIDENCE_CLASSES = ['bind', 'ptr', 'auth6', 'connect'] as const;
export type EvidenceClass = (typeof EVIDENCE_CLASSES)[number];

/** A failed delivery as the log follower classified it. */
export interface FailureReport {
  readonly domain: string;
  /** The relay the MTA names: an MX host, or the domain itself. */
  readonly host: string | undefined;
  readonly address: string | undefined;
  readonly class: EvidenceClass;
  readonly signal: string;
  readonly excerpt: string;
}

export interface Evidence {
  readonly class: EvidenceClass;
  readonly signal: string;
  /** Wall-clock ms of the line that gave it (the last one, when renewed). */
  readonly seenAt: number;
  readonly relay: string;
  readonly address?: string;
  readonly excerpt: string;
  /** Whether it was kept for the MX host (applies to every domain the host serves) or for the domain. */
  readonly scope: 'domain' | 'host';
}

/** A piece of evidence with its wall-clock expiry; `key` is `domain:<name>` or `host:<name>`. */
export interface EvidenceRow {
  readonly key: string;
  readonly expiresAt: number;
  readonly evidence: Evidence;
}

/** What became of a report. */
export const REPORT_OUTCOMES = ['new', 'renewed', 'counted', 'foreign-relay', 'no-mail-hosts', 'dns-failure'] as const;
export type ReportOutcome = (typeof REPORT_OUTCOMES)[number];

/** Connect failures of one domain needed, within the window, before they are evidence. */
export const CONNECT_FAILURES = 3;
export const CONNECT_WINDOW_MS = 60 * 60_000;

/** Why a report is not evidence: its relay is not this domain's mail host (a forged or misread line). */
export function relayProblem(report: FailureReport, mx: MxFacts): Exclude<ReportOutcome, 'new' | 'renewed' | 'counted'> | undefined {
  if (mx.kind === 'failure') return 'dns-failure';
  if (mx.kind !== 'hosts') return 'no-mail-hosts';
  const relay = report.host;
  if (relay === undefined) return 'foreign-relay';
  if (mx.hosts.some((h) => h.name.toLowerCase() === relay)) return undefined;
  // sendmail's `bind` deferral names the domain itself: no MX host was reached.
  if (report.class === 'bind' && relay === report.domain) return undefined;
  return 'foreign-relay';
}

const domainKey = (domain: string): string => `domain:${domain}`;
const hostKey = (host: string): string => `host:${host}`;

export class EvidenceBook {
  /** The evidence this instance holds, with the fleet's behind it (the one tier mechanism, cache/tier.ts). */
  private readonly tier: Tier<Evidence>;
  private readonly connectFailures: TtlCache<string, number>;

  constructor(
    size: number,
    private readonly now: () => number,
  ) {
    this.tier = new Tier(new TtlCache(size, now));
    this.connectFailures = new TtlCache(size, now);
  }

  private get kept(): TtlCache<string, Evidence> {
    return this.tier.cache;
  }

  /** With `shared_cache`: evidence one instance read from its log forces the domain on every instance. */
  share(fleet: FleetShelf<Evidence> | undefined, budgetMs: () => number): void {
    this.tier.share(fleet, budgetMs);
  }

  get size(): number {
    return this.kept.size;
  }

  resize(size: number): void {
    this.kept.resize(size);
    this.connectFailures.resize(size);
  }

  /** Keeps a report whose relay checked out; `new` when it forces something it did not before. */
  record(report: FailureReport, ttlMs: number): 'new' | 'renewed' | 'counted' {
    if (report.class === 'connect') {
      const seen = (this.connectFailures.peek(report.domain)?.value ?? 0) + 1;
      if (seen < CONNECT_FAILURES) {
        this.connectFailures.set(report.domain, seen, CONNECT_WINDOW_MS);
        return 'counted';
      }
      this.connectFailures.delete(report.domain);
    }
    const base = {
      class: report.class,
      signal: report.signal,
      seenAt: this.now(),
      relay: report.host ?? '',
      excerpt: report.excerpt,
      ...(report.address ? { address: report.address } : {}),
    };
    const keys: [string, Evidence][] = [[domainKey(report.domain), { ...base, scope: 'domain' }]];
    // A host that rejects our IPv6 identity rejects it for every domain it serves.
    if ((report.class === 'ptr' || report.class === 'auth6') && report.host && report.host !== report.domain)
      keys.push([hostKey(report.host), { ...base, scope: 'host' }]);
    let fresh = false;
    for (const [key, evidence] of keys) {
      fresh ||= this.kept.peek(key) === undefined;
      this.tier.put(key, evidence, ttlMs);
    }
    return fresh ? 'new' : 'renewed';
  }

  /**
   * Live evidence for a domain or one of its MX hosts, with the time it has left: held here, or (with a
   * fleet) read from it within the read budget, believed no longer than `maxTtlMs`.
   */
  async find(domain: string, hosts: readonly string[], maxTtlMs: number): Promise<{ evidence: Evidence; remainingMs: number } | undefined> {
    const keys = [domainKey(domain), ...hosts.map(hostKey)];
    const held = this.held(keys);
    if (held || !this.tier.shared) return held;
    await Promise.all(
      keys.map(
        (key) =>
          this.tier.fill<Evidence | undefined>(key, {
            believe: (copy) => ({ value: copy.value, freshMs: Math.min(copy.freshMs, maxTtlMs), keptMs: 0 }),
            fromFleet: (copy) => copy.value,
            // Evidence comes only from logs: what the fleet does not hold, nobody has.
            produce: async () => ({ result: undefined }),
          }).result,
      ),
    );
    return this.held(keys);
  }

  /** The evidence held for the domain itself, if any (not its MX hosts'), without asking the fleet. */
  forDomain(domain: string): { evidence: Evidence; remainingMs: number } | undefined {
    return this.held([domainKey(domain)]);
  }

  private held(keys: readonly string[]): { evidence: Evidence; remainingMs: number } | undefined {
    for (const key of keys) {
      const entry = this.kept.peek(key);
      if (entry && entry.expires > this.now()) return { evidence: entry.value, remainingMs: entry.expires - this.now() };
    }
    return undefined;
  }

  /** Every live piece of evidence, for /healthz and operators: `domain:…` or `host:…` keys. */
  *entries(): IterableIterator<[string, Evidence, number]> {
    yield* this.kept.fresh();
  }

  /** The evidence held, with wall-clock expiry (the book's clock is wall-clock time), for the snapshot. */
  *rows(): IterableIterator<EvidenceRow> {
    for (const [key, entry] of this.kept.kept()) yield { key, expiresAt: entry.expires, evidence: entry.value };
  }

  /** Takes evidence back (at start, from the snapshot): what has not expired, no longer than `maxTtlMs` from now. */
  restore(rows: Iterable<EvidenceRow>, maxTtlMs: number): number {
    let restored = 0;
    for (const { key, expiresAt, evidence } of rows) {
      const ttl = Math.min(expiresAt - this.now(), maxTtlMs);
      if (ttl <= 0) continue;
      this.kept.set(key, evidence, ttl);
      restored++;
    }
    return restored;
  }
}
