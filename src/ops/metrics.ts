/**
 * Prometheus metrics (prom-client, a registry of our own). Hot-path counters are incremented as events
 * happen; cache, probe and connection figures are read from their owners when /metrics is scraped.
 */
import { VERSION } from '../version.js';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { SharedCounters } from '../shared/shared-tier.js';
import type { IdentityState } from '../identity/sender-identity.js';
import { IDENTITY_VERDICTS } from '../identity/identity-check.js';
import { AnswerCounts } from './answer-counts.js';
import { DnsCounts } from './dns-counts.js';

export interface CacheFigures {
  readonly hits: number;
  readonly misses: number;
  readonly size: number;
}

export interface ConnectionFigures {
  readonly open: number;
  readonly idle: number;
  readonly protocolErrors: number;
  readonly staleReplies: number;
  readonly evicted: number;
  readonly refused: number;
}

export interface MetricSources {
  readonly connections: () => ConnectionFigures;
  readonly caches: () => Record<string, CacheFigures>;
  readonly probes: () => Readonly<Record<string, number>>;
  /** Log lines dropped because the reader of the log fell behind. */
  readonly logDropped: () => number;
  /** Event-loop stalls seen by the loop watch, and their total length. */
  readonly loopStalls: () => { stalls: number; seconds: number };
  /** DNS queries and probes not started because their budget was used up until their lookup's deadline. */
  readonly budgetRefused: () => { dns: number; probes: number };
  /** Answers from stale decisions by cause, and refreshes ahead of expiry started and skipped. */
  readonly freshness: () => { readonly stale: Readonly<Record<string, number>>; readonly refreshes: { started: number; skipped: number } };
  /** Our IPv6 sending identity (sender-ipv6-unready). */
  readonly identity?: () => IdentityState;
  /** Whether this host's interface addresses could be read at the last try. */
  readonly interfacesReadable?: () => boolean;
  /** The fleet's shared cache, when configured. */
  readonly shared?: () => SharedCounters & { readonly up: boolean };
  /** The followed delivery logs (delivery_log) and the evidence they gave. */
  readonly deliveryLogs?: () => DeliveryLogFigures;
  /** The outcome of the last configuration reload (the start counts as one). */
  readonly reload?: () => ReloadStatus;
}

export interface ReloadStatus {
  readonly successful: boolean;
  /** Epoch ms of the last attempt, and of the last one that worked. */
  readonly attemptedAt: number;
  readonly succeededAt?: number;
  /** Why the last attempt failed. */
  readonly error?: string;
  /** Reloads since the start, by outcome (the start is not one): `mx4map reload` waits for one to be counted. */
  readonly succeeded: number;
  readonly failed: number;
}

export interface DeliveryLogFigures {
  readonly failures: Readonly<Record<string, number>>;
  readonly outcomes: Readonly<Record<string, number>>;
  readonly logs: readonly {
    readonly path: string;
    readonly status: string;
    readonly lines: number;
    readonly skipped: number;
    readonly bytes: number;
    readonly position: number;
  }[];
  readonly evidence: number;
}

/** Turns a monotonic figure read at scrape time into counter increments. */
function deltaCounter(registry: Registry, name: string, help: string, labelName: string, read: () => Record<string, number>): void {
  const last = new Map<string, number>();
  new Counter({
    name,
    help,
    labelNames: [labelName],
    registers: [registry],
    collect() {
      for (const [label, value] of Object.entries(read())) {
        const delta = value - (last.get(label) ?? 0);
        // Every label shows from the first scrape, at 0: a series that appears only once it moves breaks rate().
        if (delta > 0 || !last.has(label)) this.inc({ [labelName]: label }, delta);
        last.set(label, value);
      }
    },
  });
}

/** A counter without labels kept in step with a running total read at scrape time. */
function deltaTotal(registry: Registry, name: string, help: string, read: () => number): void {
  let last = 0;
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      const value = read();
      if (value > last) this.inc(value - last);
      last = value;
    },
  });
}

/** Figures the server counts itself on every request and query, read by prom-client at scrape time. */
export interface CountedFigures {
  readonly answers: AnswerCounts;
  readonly dns: DnsCounts;
}

export class Metrics {
  readonly registry = new Registry();

  constructor(
    sources: MetricSources,
    readonly counted: CountedFigures = { answers: new AnswerCounts(3000), dns: new DnsCounts() },
  ) {
    const registers = [this.registry];
    const { answers, dns } = counted;
    for (const custom of [answers.lookups, answers.answerSeconds, dns.queries, dns.seconds])
      this.registry.registerMetric(custom as unknown as Parameters<Registry['registerMetric']>[0]);
    collectDefaultMetrics({ register: this.registry, prefix: 'mx4map_' });
    // Gauges named like counters (promtool check metrics flags them); the same figures are there by type,
    // without the suffix (sum them for the total).
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'])
      this.registry.removeSingleMetric(`mx4map_${name}`);
    deltaCounter(this.registry, 'mx4map_cache_hits_total', 'Cache hits, by cache', 'cache', () => pick(sources.caches(), 'hits'));
    deltaCounter(this.registry, 'mx4map_cache_misses_total', 'Cache misses, by cache', 'cache', () => pick(sources.caches(), 'misses'));
    new Gauge({
      name: 'mx4map_cache_entries',
      help: 'Entries held, by cache',
      labelNames: ['cache'],
      registers,
      collect() {
        for (const [cache, size] of Object.entries(pick(sources.caches(), 'size'))) this.set({ cache }, size);
      },
    });
    deltaCounter(this.registry, 'mx4map_probes_total', 'IPv6 SMTP probes sent, by outcome', 'outcome', () => ({ ...sources.probes() }));
    new Gauge({
      name: 'mx4map_connections',
      help: 'Client connections open, and how many of them are idle (nothing in flight)',
      labelNames: ['state'],
      registers,
      collect() {
        const c = sources.connections();
        this.set({ state: 'open' }, c.open);
        this.set({ state: 'idle' }, c.idle);
      },
    });
    deltaTotal(
      this.registry,
      'mx4map_protocol_errors_total',
      'Connections closed for malformed or timed-out requests',
      () => sources.connections().protocolErrors,
    );
    deltaCounter(
      this.registry,
      'mx4map_connections_closed_total',
      'Connections closed by the server other than for protocol errors: stale (a reply past reply_max_age), evicted (idle longest at the cap), refused (at the cap, none idle)',
      'reason',
      () => {
        const c = sources.connections();
        return { stale: c.staleReplies, evicted: c.evicted, refused: c.refused };
      },
    );
    deltaCounter(this.registry, 'mx4map_log_lines_dropped_total', 'Log lines dropped because the reader of the log fell behind', 'sink', () => ({
      stdout: sources.logDropped(),
    }));
    deltaCounter(
      this.registry,
      'mx4map_budget_refused_total',
      "DNS queries (dns_max_in_flight) and probes (probe_concurrency) not started: their budget stayed in use past the lookup's deadline",
      'budget',
      () => ({ ...sources.budgetRefused() }),
    );
    deltaCounter(
      this.registry,
      'mx4map_stale_answers_total',
      'Answers from an expired decision kept for stale_ttl: its refresh failed (failed), missed the deadline (deadline), or waits out failure_ttl after a failure (held)',
      'cause',
      () => ({ ...sources.freshness().stale }),
    );
    deltaCounter(
      this.registry,
      'mx4map_refreshes_ahead_total',
      'Background refreshes of busy decisions near expiry (refresh_ahead): started, or skipped while the DNS budget was tight',
      'result',
      () => ({ ...sources.freshness().refreshes }),
    );
    const shared = sources.shared;
    if (shared) {
      deltaCounter(
        this.registry,
        'mx4map_shared_decision_reads_total',
        'Shared-cache reads of decisions on a local miss: hit, miss, invalid (a value that did not check out), error, budget (shared_read_budget ran out), skipped (the tier is down or saturated)',
        'result',
        () => ({ ...shared().decisionReads }),
      );
      deltaCounter(this.registry, 'mx4map_shared_host_reads_total', 'Shared-cache reads of MX host facts (A and AAAA), by the same results', 'result', () => ({
        ...shared().hostReads,
      }));
      deltaCounter(this.registry, 'mx4map_shared_probe_reads_total', 'Shared-cache reads of probe verdicts, by the same results', 'result', () => ({
        ...shared().probeReads,
      }));
      deltaCounter(this.registry, 'mx4map_shared_evidence_reads_total', 'Shared-cache reads of delivery-log evidence, by the same results', 'result', () => ({
        ...shared().evidenceReads,
      }));
      deltaCounter(
        this.registry,
        'mx4map_shared_writes_total',
        'Shared-cache writes (never waited for): ok, error, skipped (the tier is down or saturated)',
        'result',
        () => ({ ...shared().writes }),
      );
      deltaCounter(
        this.registry,
        'mx4map_shared_probe_leases_total',
        'Probe leases: won (probed here for the fleet), waited (another instance probed; its verdict came in time), timed-out (it did not; probed here)',
        'result',
        () => ({ ...shared().leases }),
      );
      new Gauge({
        name: 'mx4map_shared_cache_up',
        help: 'Whether the last exchange with the shared cache worked (1) or not (0)',
        registers,
        collect() {
          this.set(shared().up ? 1 : 0);
        },
      });
    }
    new Gauge({
      name: 'mx4map_build_info',
      help: 'The running build: its version and the Node.js it runs on (bundled in the packages), always 1',
      labelNames: ['version', 'node'],
      registers,
    }).set({ version: VERSION, node: process.versions.node }, 1);
    const reload = sources.reload;
    if (reload) {
      new Gauge({
        name: 'mx4map_config_last_reload_successful',
        help: 'Whether the last configuration reload (SIGHUP, systemctl reload; the start counts as one) worked (1); 0: the configuration loaded before is still in force',
        registers,
        collect() {
          this.set(reload().successful ? 1 : 0);
        },
      });
      new Gauge({
        name: 'mx4map_config_last_reload_success_timestamp_seconds',
        help: 'When the configuration in force was loaded (Unix time)',
        registers,
        collect() {
          this.set(Math.round((reload().succeededAt ?? 0) / 1000));
        },
      });
      deltaCounter(this.registry, 'mx4map_config_reloads_total', 'Configuration reloads since the start, by result', 'result', () => {
        const r = reload();
        return { succeeded: r.succeeded, failed: r.failed };
      });
    }
    const deliveryLogs = sources.deliveryLogs;
    if (deliveryLogs) {
      deltaCounter(
        this.registry,
        'mx4map_delivery_failures_total',
        'Failed deliveries IPv4 cures found in delivery_log, by class (bind, ptr, auth6, connect)',
        'class',
        () => ({
          ...deliveryLogs().failures,
        }),
      );
      deltaCounter(
        this.registry,
        'mx4map_delivery_reports_total',
        'What became of them: new or renewed evidence, counted (connect failures short of evidence), refused (foreign-relay, no-mail-hosts, dns-failure) or dropped (queue full)',
        'outcome',
        () => ({ ...deliveryLogs().outcomes }),
      );
      const perLog = (name: string, help: string, read: (l: DeliveryLogFigures['logs'][number]) => number): void => {
        new Gauge({
          name,
          help,
          labelNames: ['path'],
          registers,
          collect() {
            for (const l of deliveryLogs().logs) this.set({ path: l.path }, read(l));
          },
        });
      };
      perLog('mx4map_delivery_log_lines', 'Lines read from each followed log since start (counter-like; resets with the process)', (l) => l.lines);
      perLog('mx4map_delivery_log_lines_skipped', 'Lines longer than 8 KiB skipped in each followed log', (l) => l.skipped);
      perLog('mx4map_delivery_log_readable', 'Whether each followed log is open and read (1), or missing or failing (0)', (l) => (l.status === 'open' ? 1 : 0));
      new Gauge({
        name: 'mx4map_delivery_evidence',
        help: 'Pieces of delivery-log evidence held (per domain and per MX host)',
        registers,
        collect() {
          this.set(deliveryLogs().evidence);
        },
      });
    }
    const interfacesReadable = sources.interfacesReadable;
    if (interfacesReadable) {
      new Gauge({
        name: 'mx4map_host_interfaces_readable',
        help: "Whether this host's interface addresses could be read at the last try (1); 0: own addresses known from local_addresses and the host name only",
        registers,
        collect() {
          this.set(interfacesReadable() ? 1 : 0);
        },
      });
    }
    const identity = sources.identity;
    if (identity) {
      new Gauge({
        name: 'mx4map_sender_ipv6_identity',
        help: 'Reverse-DNS check of each IPv6 source address: 1 on its current verdict (pass, no-ptr, no-forward, forward-mismatch, unknown)',
        labelNames: ['address', 'verdict'],
        registers,
        collect() {
          this.reset();
          for (const c of identity().checks) for (const verdict of IDENTITY_VERDICTS) this.set({ address: c.address, verdict }, c.verdict === verdict ? 1 : 0);
        },
      });
      new Gauge({
        name: 'mx4map_sender_ipv6_unready',
        help: 'Whether sender-ipv6-unready is active: some IPv6 source fails the reverse-DNS check (1) or none does (0)',
        registers,
        collect() {
          this.set(identity().unready ? 1 : 0);
        },
      });
    }
    deltaTotal(
      this.registry,
      'mx4map_event_loop_stalls_total',
      'Times the event loop could not run on time (requests read after a stall are dated back across it)',
      () => sources.loopStalls().stalls,
    );
  }
}

function pick(caches: Record<string, CacheFigures>, field: keyof CacheFigures): Record<string, number> {
  return Object.fromEntries(Object.entries(caches).map(([name, figures]) => [name, figures[field]]));
}
