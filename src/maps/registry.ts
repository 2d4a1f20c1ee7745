/**
 * The map registry: routes each request to the map it names, normalises the key, asks the decider and
 * formats the decision for that map's MTA. This is the server's `answer` function.
 */
import type { Logger } from 'pino';
import type { MapDefinition } from './definitions.js';
import { classifyKey, plainHostName } from '../domain/key.js';
import type { Decider, Decision } from '../engine/decision.js';
import { NOTFOUND_REPLY, encodeReply, parseRequest, printable } from '../protocol/socketmap.js';
import { type AnswerPolicy, replyOrders, skippedFor } from './format.js';
import { LogBudget } from '../limits/log-budget.js';

/** `{ suppressed: N }` on a line that follows N left out, nothing otherwise. */
const suppressed = (b: { suppressed: number }): { suppressed?: number } => (b.suppressed > 0 ? { suppressed: b.suppressed } : {});

/**
 * Counts answers (for /metrics): `cell` is asked once per (map, answer, reason) — the map '-' when none
 * applies — and the registry keeps the cell; every answer is then one `add` with the time from the request to
 * its answer (0 when decided at once).
 */
export interface AnswerTally {
  cell(map: string, answer: string, reason: string): AnswerCell;
}

export interface AnswerCell {
  add(ms: number): void;
}

const uncounted: AnswerTally = { cell: () => ({ add: () => undefined }) };

interface EncodedReply {
  readonly status: string;
  /** The reason counted: the decision's, or the protection that kept a forced domain off this map. */
  readonly reason: string;
  /** One reply, or several orders of one (Postfix load spreading) handed out in turn. */
  readonly orders: readonly Buffer[];
  next: number;
  readonly cell: AnswerCell;
}

/** A configured map, matched against the request's bytes. */
interface MapEntry {
  readonly definition: MapDefinition;
  readonly index: number;
  /** The name as the request spells it (latin1, as parseRequest reads it). */
  readonly nameBytes: Buffer;
  /** Cells for keys answered NOTFOUND without a decision, by reason. */
  readonly skipped: Map<string, AnswerCell>;
}

const SPACE = 0x20;

export class MapRegistry {
  private maps: ReadonlyMap<string, MapEntry> = new Map();
  /** The same entries in a list: a request's map name is matched byte by byte, with no string made. */
  private mapList: readonly MapEntry[] = [];
  /** Cells for requests no map answers. */
  private readonly unmapped = new Map<string, AnswerCell>();
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
    private readonly tally: AnswerTally = uncounted,
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
    this.mapList = definitions.map((definition, index) => ({ definition, index, nameBytes: Buffer.from(definition.name, 'latin1'), skipped: new Map() }));
    this.maps = new Map(this.mapList.map((entry) => [entry.definition.name, entry]));
    this.encoded = new WeakMap();
  }

  /**
   * Answers one request payload with one encoded reply. The common request — a configured map and a plain
   * host name, decided already — is read from the bytes in place and answered with a reply encoded before.
   */
  readonly answer = (payload: Buffer, log: Logger = this.log): Buffer | Promise<Buffer> => {
    let space = 0;
    while (space < payload.length && payload[space] !== SPACE) space++;
    const entry = space > 0 && space < payload.length ? this.mapAt(payload, space) : undefined;
    if (!entry) return this.unanswerable(payload, log);
    const domain = plainHostName(payload, space + 1, payload.length);
    if (domain !== undefined) return this.decideFor(domain, entry);
    const key = classifyKey(payload.subarray(space + 1));
    if (key.kind === 'domain') return this.decideFor(key.domain, entry);
    // Bytes escaped one by one (latin1 maps each byte to one character), so a key cannot forge log lines.
    if (key.reason === 'invalid-name' && log.isLevelEnabled('debug')) {
      log.debug(
        { evt: 'invalid-key', map: entry.definition.name, key: printable(payload.toString('latin1', space + 1), 120) },
        'key is not a host name; answered NOTFOUND',
      );
    }
    this.skippedCell(entry, key.reason).add(0);
    return NOTFOUND_REPLY;
  };

  /** The configured map whose name is the payload's first `length` bytes. */
  private mapAt(payload: Buffer, length: number): MapEntry | undefined {
    for (const entry of this.mapList) {
      const name = entry.nameBytes;
      if (name.length !== length) continue;
      let i = 0;
      while (i < length && name[i] === payload[i]) i++;
      if (i === length) return entry;
    }
    return undefined;
  }

  private decideFor(domain: string, entry: MapEntry): Buffer | Promise<Buffer> {
    const decision = this.decider.decide(domain);
    if (!isPromise(decision)) return this.encode(decision, entry.definition, entry.index, 0);
    // Only a decision that waits is timed: a hit costs no clock read.
    const started = performance.now();
    const mapName = entry.definition.name;
    return decision.then((d) => this.encodeFor(d, mapName, performance.now() - started));
  }

  /** A request without "<map> <key>", or for a map not configured: PERM, and a (rate-limited) warning. */
  private unanswerable(payload: Buffer, log: Logger): Buffer {
    const request = parseRequest(payload);
    if (!request) {
      const budget = this.warnings.take('malformed-request');
      if (budget)
        log.warn({ evt: 'malformed-request', request: printable(payload.toString('latin1'), 80), ...suppressed(budget) }, 'request without "<map> <key>"');
      this.unmappedCell('PERM', 'malformed-request').add(0);
      return encodeReply({ status: 'PERM', reason: 'malformed request: expected "<mapname> <key>"' });
    }
    const name = printable(request.map, 64);
    const budget = this.warnings.take('unknown-map');
    if (budget) log.warn({ evt: 'unknown-map', map: name, ...suppressed(budget) }, 'request for a map that is not configured');
    this.unmappedCell('PERM', 'unknown-map').add(0); // never the client's map name: it would be an unbounded label
    return encodeReply({ status: 'PERM', reason: `unknown map ${name}` });
  }

  private skippedCell(entry: MapEntry, reason: string): AnswerCell {
    let cell = entry.skipped.get(reason);
    if (!cell) {
      cell = this.tally.cell(entry.definition.name, 'NOTFOUND', reason);
      entry.skipped.set(reason, cell);
    }
    return cell;
  }

  private unmappedCell(answer: string, reason: string): AnswerCell {
    const key = `${answer} ${reason}`;
    let cell = this.unmapped.get(key);
    if (!cell) {
      cell = this.tally.cell('-', answer, reason);
      this.unmapped.set(key, cell);
    }
    return cell;
  }

  /**
   * Encodes a decision that took a while, for the map of that name as it is configured now: a reload
   * meanwhile may have reordered the maps or changed their answer format, and the reply must follow it.
   */
  private encodeFor(decision: Decision, mapName: string, ms: number): Buffer {
    const entry = this.maps.get(mapName);
    if (!entry) {
      this.unmappedCell('PERM', 'unknown-map').add(ms);
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
      const status = replies[0].status;
      const orders = replies.map((r) => (r.status === 'NOTFOUND' ? NOTFOUND_REPLY : encodeReply(r)));
      reply = { status, reason, orders, next: 0, cell: this.tally.cell(map.name, status, reason) };
      row[index] = reply;
    }
    reply.cell.add(ms);
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
