/**
 * The shared cache in Redis or Valkey, through ioredis. Everything here fails open:
 *  - nothing is queued while disconnected (`enableOfflineQueue: false`: a command then fails at once) and a
 *    command already written is given up after `commandTimeoutMs` (ioredis' own timeout covers written
 *    commands, which node-redis' does not);
 *  - every read is also raced against its lookup's budget, so a slow Redis costs a lookup at most that;
 *  - at most MAX_PENDING commands are outstanding: past that (Redis stalled), reads and writes are skipped;
 *  - after a failure the tier is down: reads and writes are skipped, costing nothing, while a PING a second
 *    tries Redis again and ioredis reconnects in the background with backoff. One log line when it goes
 *    down, one when it is back, never one per lookup.
 */
import Redis from 'ioredis';
import type { Logger } from 'pino';
import { Decision } from '../engine/decision.js';
import { intern } from '../engine/intern.js';
import { ProbeResult } from '../probe/smtp-probe.js';
import { RedisSpec } from './redis-spec.js';
import { HostFacts } from '../engine/facts.js';
import { SharedDecision, decisionKey, decodeDecision, decodeHost, decodeProbe, encodeDecision, encodeHost, encodeProbe, hostKey, probeKey, probeLeaseKey } from './shared-entries.js';
import { ReadResult, SharedCounters, SharedProbe, SharedTier, emptyCounters } from './shared-tier.js';

/** Outstanding commands at most; a stalled Redis cannot make mx4map hold more. */
const MAX_PENDING = 1024;
/** While down, a PING this often tries Redis again. */
const RETRY_AFTER_MS = 1000;
/** Longest wait between reconnection attempts. */
const MAX_BACKOFF_MS = 5000;

export interface RedisTierOptions {
  readonly spec: RedisSpec;
  /** From `shared_cache_password_file`; wins over a password in the spec. */
  readonly password?: string;
  readonly commandTimeoutMs: number;
  /** For messages: the spec as configured, password hidden. */
  readonly shown: string;
}

const TIMED_OUT = Symbol('budget');

export class RedisTier implements SharedTier {
  readonly counters: SharedCounters = emptyCounters();
  private readonly client: Redis;
  private pending = 0;
  private state: 'starting' | 'up' | 'down' = 'starting';
  private health: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly shown: string;

  constructor(
    options: RedisTierOptions,
    private readonly log: Logger,
  ) {
    const { spec } = options;
    const backoff = (attempt: number): number => Math.min(100 * 2 ** Math.min(attempt, 6), MAX_BACKOFF_MS);
    const where = spec.sentinels
      ? // ioredis asks the sentinels for the master, and (failoverDetector) follows +switch-master at once.
        { sentinels: spec.sentinels.map((s) => ({ ...s })), name: spec.masterName, sentinelRetryStrategy: backoff, sentinelCommandTimeout: options.commandTimeoutMs, failoverDetector: true }
      : spec.path
        ? { path: spec.path }
        : { host: spec.host, port: spec.port };
    this.client = new Redis({
      ...where,
      db: spec.db,
      ...(spec.username ? { username: spec.username } : {}),
      ...((options.password ?? spec.password) ? { password: options.password ?? spec.password } : {}),
      ...(spec.tls ? { tls: { servername: spec.host } } : {}),
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: options.commandTimeoutMs,
      connectTimeout: Math.max(1000, options.commandTimeoutMs),
      retryStrategy: backoff,
      // A Redis that answers MOVED or READONLY is no cache of ours: fail, do not follow.
      reconnectOnError: () => false,
      lazyConnect: false,
    });
    this.client.on('ready', () => this.worked());
    // ioredis emits an error per failed attempt; only the change of state is logged.
    this.client.on('error', (err: Error) => this.failed(err));
    this.client.on('end', () => this.failed(new Error('connection closed')));
    this.client.on('close', () => {
      if (this.state === 'up') this.failed(new Error('connection closed'));
    });
    this.shown = options.shown;
  }

  get up(): boolean {
    return this.state === 'up';
  }

  private worked(): void {
    if (this.state === 'up') return;
    clearInterval(this.health);
    this.health = undefined;
    const was = this.state;
    this.state = 'up';
    if (was === 'down') this.log.info({ evt: 'shared-cache-up', shared: this.shown }, `shared cache ${this.shown} is back`);
    else this.log.info({ evt: 'shared-cache-up', shared: this.shown }, `shared cache ${this.shown} connected`);
  }

  private failed(err: Error): void {
    if (this.closed || this.state === 'down') return;
    this.state = 'down';
    this.health = setInterval(() => this.tryAgain(), RETRY_AFTER_MS).unref();
    this.log.warn({ evt: 'shared-cache-down', shared: this.shown, error: err.message }, `shared cache ${this.shown} is unusable (${err.message}); answering from local caches and DNS until it is back`);
  }

  /** Whether a command may be sent now. */
  private usable(): boolean {
    return !this.closed && this.state === 'up' && this.client.status === 'ready' && this.pending < MAX_PENDING;
  }

  /** The health check while down: a PING over the connection, when there is one. */
  private tryAgain(): void {
    if (this.client.status === 'ready' && this.pending < MAX_PENDING) this.send(() => this.client.ping()).catch(() => undefined);
  }

  /** Runs one command, counted as outstanding until Redis (or its timeout) settles it. */
  private send<T>(command: () => Promise<T>): Promise<T> {
    this.pending++;
    const done = command();
    done.then(
      () => {
        this.pending--;
        this.worked();
      },
      (err: Error) => {
        this.pending--;
        // An error reply (OOM under maxmemory with noeviction, a READONLY replica) comes over a working
        // connection: counted by the caller, but no reason to stop asking (nor to log down and up each second).
        if (err.name !== 'ReplyError') this.failed(err);
      },
    );
    return done;
  }

  /** A read under `budgetMs`: its value, or how it ended. */
  private async read<T>(budgetMs: number, command: () => Promise<T>): Promise<T | Exclude<ReadResult, 'hit' | 'miss' | 'invalid'>> {
    if (budgetMs <= 0) return 'budget';
    if (!this.usable()) return 'skipped';
    let timer: NodeJS.Timeout | undefined;
    const budget = new Promise<typeof TIMED_OUT>((resolve) => (timer = setTimeout(resolve, budgetMs, TIMED_OUT)));
    try {
      const outcome = await Promise.race([this.send(command), budget]);
      return outcome === TIMED_OUT ? 'budget' : (outcome as T);
    } catch {
      return 'error';
    } finally {
      clearTimeout(timer);
    }
  }

  /** A key's value and remaining lifetime (PTTL), read together in one transaction. */
  private async valueWithTtl(key: string): Promise<[unknown, unknown]> {
    const replies = await this.client.multi().get(key).pttl(key).exec();
    if (!replies) throw new Error('transaction aborted');
    for (const [err] of replies) if (err) throw err;
    return [replies[0][1], replies[1][1]];
  }

  async readDecision(rule: string, domain: string, budgetMs: number): Promise<SharedDecision | undefined> {
    const outcome = await this.read(budgetMs, () => this.valueWithTtl(decisionKey(rule, domain)));
    if (typeof outcome === 'string') return this.count(this.counters.decisionReads, outcome);
    const [text, pttl] = outcome;
    if (text === null) return this.count(this.counters.decisionReads, 'miss');
    const found = typeof text === 'string' && typeof pttl === 'number' ? decodeDecision(text, pttl) : undefined;
    if (!found) return this.count(this.counters.decisionReads, 'invalid');
    this.counters.decisionReads.hit++;
    return { ...found, decision: intern(found.decision) };
  }

  writeDecision(rule: string, domain: string, decision: Decision, freshMs: number, staleMs: number): void {
    const lifeMs = Math.round(freshMs + staleMs);
    if (lifeMs <= 0) return;
    this.write(() => this.client.set(decisionKey(rule, domain), encodeDecision(decision, Math.round(staleMs)), 'PX', lifeMs));
  }

  async readHost(name: string, maxAddresses: number, budgetMs: number): Promise<HostFacts | undefined> {
    const outcome = await this.read(budgetMs, () => this.valueWithTtl(hostKey(name)));
    if (typeof outcome === 'string') return this.count(this.counters.hostReads, outcome);
    const [text, pttl] = outcome;
    if (text === null) return this.count(this.counters.hostReads, 'miss');
    const found = typeof text === 'string' && typeof pttl === 'number' ? decodeHost(name, text, pttl, maxAddresses) : undefined;
    if (!found) return this.count(this.counters.hostReads, 'invalid');
    this.counters.hostReads.hit++;
    return found;
  }

  writeHost(facts: HostFacts, ttlMs: number): void {
    const text = encodeHost(facts);
    // Only what a reader would believe is written (a name our checks refuse would read as invalid forever).
    if (ttlMs <= 0 || !decodeHost(facts.name, text, ttlMs, Infinity)) return;
    this.write(() => this.client.set(hostKey(facts.name), text, 'PX', Math.round(ttlMs)));
  }

  async readProbe(port: number, address: string, budgetMs: number): Promise<SharedProbe | undefined> {
    const outcome = await this.read(budgetMs, () => this.valueWithTtl(probeKey(port, address)));
    if (typeof outcome === 'string') return this.count(this.counters.probeReads, outcome);
    const [text, pttl] = outcome;
    if (text === null) return this.count(this.counters.probeReads, 'miss');
    const found = typeof text === 'string' ? decodeProbe(text) : undefined;
    if (!found || typeof pttl !== 'number' || pttl <= 0) return this.count(this.counters.probeReads, 'invalid');
    this.counters.probeReads.hit++;
    return { ...found, ttlMs: pttl };
  }

  writeProbe(port: number, address: string, result: ProbeResult, ttlMs: number): void {
    if (ttlMs <= 0) return;
    this.write(() => this.client.set(probeKey(port, address), encodeProbe(result), 'PX', Math.round(ttlMs)));
  }

  async takeProbeLease(port: number, address: string, ms: number, budgetMs: number): Promise<boolean | undefined> {
    const outcome = await this.read(budgetMs, () => this.client.set(probeLeaseKey(port, address), '1', 'PX', Math.max(1, Math.round(ms)), 'NX'));
    if (outcome === 'OK') return true;
    if (outcome === null) return false;
    return undefined;
  }

  private write(command: () => Promise<unknown>): void {
    if (!this.usable()) {
      this.counters.writes.skipped++;
      return;
    }
    this.send(command).then(
      () => this.counters.writes.ok++,
      () => this.counters.writes.error++,
    );
  }

  private count(counters: Record<ReadResult, number>, result: ReadResult): undefined {
    counters[result]++;
    return undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.health);
    this.client.disconnect(false);
  }
}
