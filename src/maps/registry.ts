/**
 * The map registry: routes each request to the map it names, normalises the key, asks the decider and
 * formats the decision for that map's MTA. This is the server's `answer` function.
 */
import type { Logger } from 'pino';
import type { MapDefinition } from './definitions.js';
import { classifyKey } from '../domain/key.js';
import type { Decider, Decision } from '../engine/decision.js';
import { NOTFOUND_REPLY, encodeReply, parseRequest, printable } from '../protocol/socketmap.js';
import { type AnswerPolicy, replyOrders, skippedFor } from './format.js';
import { LogBudget } from '../limits/log-budget.js';

/** `{ suppressed: N }` on a line that follows N left out, nothing otherwise. */
const suppressed = (b: { suppressed: number }): { suppressed?: number } => (b.suppressed > 0 ? { suppressed: b.suppressed } : {});

/** Sees every answer: the map (or '-' when none applies), the reply status and the reason behind it. */
/** Called once per answer; `ms`: from the request to its answer (0 when decided at once). */
export type AnswerObserver = (map: string, answer: string, reason: string, ms: number) => void;

interface EncodedReply {
  readonly status: string;
  /** The reason counted: the decision's, or the protection that kept a forced domain off this map. */
  readonly reason: string;
  /** One reply, or several orders of one (Postfix load spreading) handed out in turn. */
  readonly orders: readonly Buffer[];
  next: number;
}

export class MapRegistry {
  private maps: ReadonlyMap<string, { readonly definition: MapDefinition; readonly index: number }> = new Map();
  /**
   * Encoded replies per decision and map. Decisions are shared (engine/intern.ts) and cached, so a cache
   * hit answers with a buffer built once, with no allocation.
   */
  private encoded = new WeakMap<Decision, Array<EncodedReply | undefined>>();

  constructor(
    definitions: readonly MapDefinition[],
    private readonly decider: Decider,
    private policy: AnswerPolicy,
    private readonly log: Logger,
    private readonly observe: AnswerObserver = () => undefined,
    /** Warnings clients cause (bad requests) are rate-limited: a client must not choose our log volume. */
    private readonly warnings: LogBudget = new LogBudget(),
  ) {
    this.setMaps(definitions);
  }

  /**
   * Replaces the maps answered and how decisions become answers (configuration reload). Replies encoded
   * before are forgotten; a lookup in flight is encoded, when it completes, for its map as configured then.
   */
  reconfigure(definitions: readonly MapDefinition[], policy: AnswerPolicy): void {
    this.setMaps(definitions);
    this.policy = policy;
  }

  private setMaps(definitions: readonly MapDefinition[]): void {
    this.maps = new Map(definitions.map((definition, index) => [definition.name, { definition, index }]));
    this.encoded = new WeakMap();
  }

  /** Answers one request payload with one encoded reply. */
  readonly answer = (payload: Buffer, log: Logger = this.log): Buffer | Promise<Buffer> => {
    const request = parseRequest(payload);
    if (!request) {
      const budget = this.warnings.take('malformed-request');
      if (budget)
        log.warn({ evt: 'malformed-request', request: printable(payload.toString('latin1'), 80), ...suppressed(budget) }, 'request without "<map> <key>"');
      this.observe('-', 'PERM', 'malformed-request', 0);
      return encodeReply({ status: 'PERM', reason: 'malformed request: expected "<mapname> <key>"' });
    }
    const entry = this.maps.get(request.map);
    if (!entry) {
      const name = printable(request.map, 64);
      const budget = this.warnings.take('unknown-map');
      if (budget) log.warn({ evt: 'unknown-map', map: name, ...suppressed(budget) }, 'request for a map that is not configured');
      this.observe('-', 'PERM', 'unknown-map', 0); // never the client's map name: it would be an unbounded label
      return encodeReply({ status: 'PERM', reason: `unknown map ${name}` });
    }
    const map = entry.definition;
    const key = classifyKey(request.key);
    if (key.kind === 'skip') {
      // Bytes escaped one by one (latin1 maps each byte to one character), so a key cannot forge log lines.
      if (key.reason === 'invalid-name' && log.isLevelEnabled('debug')) {
        log.debug({ evt: 'invalid-key', map: map.name, key: printable(request.key.toString('latin1'), 120) }, 'key is not a host name; answered NOTFOUND');
      }
      this.observe(map.name, 'NOTFOUND', key.reason, 0);
      return NOTFOUND_REPLY;
    }
    const decision = this.decider.decide(key.domain);
    if (!isPromise(decision)) return this.encode(decision, map, entry.index, 0);
    // Only a decision that waits is timed: a hit costs no clock read.
    const started = performance.now();
    return decision.then((d) => this.encodeFor(d, map.name, performance.now() - started));
  };

  /**
   * Encodes a decision that took a while, for the map of that name as it is configured now: a reload
   * meanwhile may have reordered the maps or changed their answer format, and the reply must follow it.
   */
  private encodeFor(decision: Decision, mapName: string, ms: number): Buffer {
    const entry = this.maps.get(mapName);
    if (!entry) {
      this.observe('-', 'PERM', 'unknown-map', ms);
      return encodeReply({ status: 'PERM', reason: `unknown map ${mapName}` });
    }
    return this.encode(decision, entry.definition, entry.index, ms);
  }

  get mapNames(): string[] {
    return [...this.maps.keys()];
  }

  private encode(decision: Decision, map: MapDefinition, index: number, ms: number): Buffer {
    let row = this.encoded.get(decision);
    if (!row) {
      row = [];
      this.encoded.set(decision, row);
    }
    let reply = row[index];
    if (!reply) {
      const replies = replyOrders(decision, map, this.policy);
      const reason = skippedFor(decision, map, this.policy) ?? reasonOf(decision);
      reply = { status: replies[0].status, reason, orders: replies.map((r) => (r.status === 'NOTFOUND' ? NOTFOUND_REPLY : encodeReply(r))), next: 0 };
      row[index] = reply;
    }
    this.observe(map.name, reply.status, reply.reason, ms);
    const bytes = reply.orders[reply.next];
    if (reply.orders.length > 1) reply.next = (reply.next + 1) % reply.orders.length;
    return bytes;
  }
}

export function reasonOf(decision: Decision): string {
  switch (decision.action) {
    case 'force-ipv4':
      return decision.triggers.join('+');
    case 'leave':
      return decision.reason;
    case 'dns-failure':
      return 'dns-failure';
  }
}

function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as Promise<T>)?.then === 'function';
}
