/**
 * The shared cache in Redis or Valkey, through ioredis. Everything here fails open:
 *  - nothing is queued while disconnected (`enableOfflineQueue: false`: a command then fails at once) and a
 *    command already written is given up after `commandTimeoutMs` (ioredis' own timeout covers written
 *    commands, which node-redis' does not);
 *  - every read is also raced against its lookup's budget, so a slow Redis costs a lookup at most that;
 *  - at most MAX_PENDING commands are outstanding: past that (Redis stalled), reads and writes are skipped;
 *  - after a failure the tier is down: reads and writes are skipped, costing nothing, while a PING a second
 *    tries Redis again and ioredis reconnects in the background with backoff. It is up again only once a
 *    PING sent then is answered (a connection alone proves nothing: a peer speaking garbage connects every
 *    time), so one log line when it goes down, one when it is back, never one per lookup or reconnection.
 * A hostile peer is bounded too: every byte it sends passes a RespGuard first, and a reply past its limits
 * (size, elements, nesting) drops the connection before ioredis parses it; a connection that answers
 * nothing for a command timeout is dropped as well. Only single-value commands are sent (GET, SET, PING), so no reply's shape is the peer's to choose,
 * and every value is sealed (value-seal.ts): one that a fleet member did not write reads as invalid.
 */
import type Redis from 'ioredis';
import type { Logger } from 'pino';
import type { Decision } from '../engine/decision.js';
import { intern } from '../engine/intern.js';
import type { ProbeResult } from '../probe/smtp-probe.js';
import type { RedisSpec } from './redis-spec.js';
import type { HostFacts } from '../engine/facts.js';
import type { Evidence } from '../engine/evidence.js';
import {
  type SharedDecision,
  decodeEvidence,
  encodeEvidence,
  evidenceKey,
  decisionKey,
  decodeDecision,
  decodeHost,
  decodeProbe,
  encodeDecision,
  encodeHost,
  encodeProbe,
  hostKey,
  probeKey,
  probeLeaseKey,
} from './shared-entries.js';
import { type ReadResult, type SharedCounters, type SharedProbe, type SharedTier, emptyCounters } from './shared-tier.js';
import { RespGuard } from './resp-guard.js';
import type { ValueSeal } from './value-seal.js';

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
  /** Seals what is written and checks what is read. */
  readonly seal: ValueSeal;
  /** Wall-clock time, for the expiry sealed into values (injected by tests). */
  readonly now?: () => number;
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
  private readonly seal: ValueSeal;
  private readonly now: () => number;
  private readonly commandTimeoutMs: number;
  /** When a command was last answered (performance.now()). */
  private lastAnswerAt = 0;

  constructor(
    options: RedisTierOptions,
    private readonly log: Logger,
  ) {
    const { spec } = options;
    const backoff = (attempt: number): number => Math.min(100 * 2 ** Math.min(attempt, 6), MAX_BACKOFF_MS);
    const where = spec.sentinels
      ? // ioredis asks the sentinels for the master, and (failoverDetector) follows +switch-master at once.
        {
          sentinels: spec.sentinels.map((s) => ({ ...s })),
          name: spec.masterName,
          sentinelRetryStrategy: backoff,
          sentinelCommandTimeout: options.commandTimeoutMs,
          failoverDetector: true,
        }
      : spec.path
        ? { path: spec.path }
        : { host: spec.host, port: spec.port };
    this.client = new (redisClient())({
      ...where,
      db: spec.db,
      ...(spec.username ? { username: spec.username } : {}),
      ...((options.password ?? spec.password) ? { password: options.password ?? spec.password } : {}),
      ...(spec.tls ? { tls: { servername: spec.host } } : {}),
      // RESP2: the guard's grammar is its five reply types (RESP3's HELLO answers with a map of the peer's choosing).
      protocol: 2,
      // No INFO: its reply is the peer's to shape, and a `loading` Redis made ioredis ask ~860 times a second.
      enableReadyCheck: false,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: options.commandTimeoutMs,
      connectTimeout: Math.max(1000, options.commandTimeoutMs),
      retryStrategy: backoff,
      // A Redis that answers MOVED or READONLY is no cache of ours: fail, do not follow.
      reconnectOnError: () => false,
      lazyConnect: false,
    });
    this.client.on('connect', () => this.guard());
    // Connected is not up: a PING must be answered first.
    this.client.on('ready', () => this.tryAgain());
    // ioredis emits an error per failed attempt; only the change of state is logged.
    this.client.on('error', (err: Error) => this.failed(err));
    this.client.on('end', () => this.failed(new Error('connection closed')));
    this.client.on('close', () => {
      if (this.state === 'up') this.failed(new Error('connection closed'));
    });
    this.shown = options.shown;
    this.seal = options.seal;
    this.now = options.now ?? Date.now;
    this.commandTimeoutMs = options.commandTimeoutMs;
  }

  /** Puts a RespGuard in front of the client's parser on the new connection. */
  private guard(): void {
    const stream = (this.client as unknown as { stream?: NodeJS.ReadableStream & { destroy(): void } }).stream;
    if (!stream) return;
    const guard = new RespGuard();
    stream.prependListener('data', (chunk: Buffer) => {
      const broken = guard.push(chunk);
      if (!broken) return;
      // Taken off the stream before the parser sees more: the rest of this reply is never buffered.
      stream.removeAllListeners('data');
      stream.destroy();
      this.failed(new Error(`the peer sent ${broken}; connection dropped`));
    });
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
    this.log.warn(
      { evt: 'shared-cache-down', shared: this.shown, error: err.message },
      `shared cache ${this.shown} is unusable (${err.message}); answering from local caches and DNS until it is back`,
    );
  }

  /** Whether a command may be sent now. */
  private usable(): boolean {
    return !this.closed && this.state === 'up' && this.client.status === 'ready' && this.pending < MAX_PENDING;
  }

  /** The health check while down: a PING over the connection, when there is one. */
  private tryAgain(): void {
    if (this.client.status !== 'ready' || this.pending >= MAX_PENDING) return;
    // Up again only on a PING sent now and answered: a late reply to a command sent before an outage proves nothing.
    this.send(() => this.client.ping()).then(
      () => this.worked(),
      (err: Error) => {
        // An error reply to PING (a peer that refuses everything, a Redis still loading): down, and asked
        // again by the health PING once a second, no faster.
        if (err.name === 'ReplyError') this.failed(err);
      },
    );
  }

  /** Runs one command, counted as outstanding until Redis (or its timeout) settles it. */
  private send<T>(command: () => Promise<T>): Promise<T> {
    this.pending++;
    const done = command();
    done.then(
      () => {
        this.pending--;
        this.lastAnswerAt = performance.now();
      },
      (err: Error) => {
        this.pending--;
        // An error reply (OOM under maxmemory with noeviction, a READONLY replica) comes over a working
        // connection: counted by the caller, but no reason to stop asking (nor to log down and up each second).
        if (err.name === 'ReplyError') return;
        // A connection that has answered nothing for a command timeout is not waited on: a new one starts
        // clean (a silent or stopped peer, one dribbling a reply). Not when it answered meanwhile: a timeout
        // of a command sent before a pause must not drop the connection that has just come back.
        if (err.message === 'Command timed out' && performance.now() - this.lastAnswerAt > this.commandTimeoutMs) this.client.disconnect(true);
        this.failed(err);
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

  /** A key's sealed value: its text and remaining life, null when absent, 'invalid' when it does not check out. */
  private async unsealed(key: string): Promise<{ text: string; remainingMs: number } | null | 'invalid'> {
    const value = await this.client.get(key);
    if (value === null) return null;
    return this.seal.open(key, value, this.now()) ?? 'invalid';
  }

  /** Writes a value sealed for its key, living `lifeMs` here and in Redis. */
  private writeSealed(key: string, text: string, lifeMs: number): void {
    const life = Math.round(lifeMs);
    if (life <= 0) return;
    this.write(() => this.client.set(key, this.seal.seal(key, text, this.now() + life), 'PX', life));
  }

  /** Reads and decodes one entry, counting how the read ended. */
  private async readEntry<T>(
    counters: Record<ReadResult, number>,
    key: string,
    budgetMs: number,
    decode: (text: string, remainingMs: number) => T | undefined,
  ): Promise<T | undefined> {
    const outcome = await this.read(budgetMs, () => this.unsealed(key));
    if (outcome === null) return this.count(counters, 'miss');
    if (typeof outcome === 'string') return this.count(counters, outcome);
    const found = decode(outcome.text, outcome.remainingMs);
    if (found === undefined) return this.count(counters, 'invalid');
    counters.hit++;
    return found;
  }

  async readDecision(rule: string, domain: string, budgetMs: number): Promise<SharedDecision | undefined> {
    const found = await this.readEntry(this.counters.decisionReads, decisionKey(rule, domain), budgetMs, decodeDecision);
    return found && { ...found, decision: intern(found.decision) };
  }

  writeDecision(rule: string, domain: string, decision: Decision, freshMs: number, staleMs: number): void {
    this.writeSealed(decisionKey(rule, domain), encodeDecision(decision, Math.round(staleMs)), freshMs + staleMs);
  }

  readHost(name: string, maxAddresses: number, budgetMs: number): Promise<HostFacts | undefined> {
    return this.readEntry(this.counters.hostReads, hostKey(name), budgetMs, (text, remainingMs) => decodeHost(name, text, remainingMs, maxAddresses));
  }

  writeHost(facts: HostFacts, ttlMs: number): void {
    const text = encodeHost(facts);
    // Only what a reader would believe is written (a name our checks refuse would read as invalid forever).
    if (ttlMs <= 0 || !decodeHost(facts.name, text, ttlMs, Infinity)) return;
    this.writeSealed(hostKey(facts.name), text, ttlMs);
  }

  readEvidence(key: string, budgetMs: number): Promise<{ evidence: Evidence; ttlMs: number } | undefined> {
    return this.readEntry(this.counters.evidenceReads, evidenceKey(key), budgetMs, (text, remainingMs) => {
      const evidence = decodeEvidence(text);
      return evidence && { evidence, ttlMs: remainingMs };
    });
  }

  writeEvidence(key: string, evidence: Evidence, ttlMs: number): void {
    if (ttlMs > 0) this.writeSealed(evidenceKey(key), encodeEvidence(evidence), ttlMs);
  }

  readProbe(port: number, address: string, budgetMs: number): Promise<SharedProbe | undefined> {
    return this.readEntry(this.counters.probeReads, probeKey(port, address), budgetMs, (text, remainingMs) => {
      const found = decodeProbe(text);
      return found && { ...found, ttlMs: remainingMs };
    });
  }

  writeProbe(port: number, address: string, result: ProbeResult, ttlMs: number): void {
    this.writeSealed(probeKey(port, address), encodeProbe(result), ttlMs);
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

/** ioredis, loaded when a tier is first opened: a server without shared_cache never pays its ~40 ms of start-up. */
function redisClient(): typeof Redis {
  return (require('ioredis') as typeof import('ioredis')).default;
}
