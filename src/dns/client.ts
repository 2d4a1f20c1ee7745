/**
 * The DNS client: one question at a time, tried on each configured server in turn, retried over TCP when a
 * UDP answer is truncated. Every attempt has a timeout, so no query can hang. It reports what node's
 * dns.Resolver hides: the rcode, each record's TTL, CNAMEs and the SOA of negative answers.
 */
import { randomInt } from 'node:crypto';
import { type DnsResponse, RCODE, type RecordType, TYPE_CODE, encodeQuery, normaliseName, rcodeName } from './message.js';
import { type DnsServer, type Exchange, decoded, exchangeTcp } from './transport.js';
import { UdpPool } from './udp-pool.js';
import { Gate } from '../limits/gate.js';

export interface DnsClientOptions {
  readonly servers: readonly DnsServer[];
  /** Per attempt, UDP and TCP alike. */
  readonly timeoutMs: number;
  /** Rounds over the server list. */
  readonly attempts: number;
  /** Queries in flight at once, server-wide: each holds one socket at a time. */
  readonly maxInFlight?: number;
  /** Ask with DO and AD set, so a validating resolver reports in AD whether it validated the answer. */
  readonly dnssec?: boolean;
}

export type QueryOutcome = { readonly kind: 'response'; readonly response: DnsResponse } | { readonly kind: 'failure'; readonly detail: string };

const FAULT_LABEL = { timeout: 'TIMEOUT', malformed: 'MALFORMED', network: 'NETWORK' } as const;

export interface DnsStats {
  queries: number;
  /** Completed exchanges by rcode name (a closed set: "other" for the rest), TIMEOUT, MALFORMED or NETWORK. */
  readonly byOutcome: Record<string, number>;
}

/** Observes every query sent, for metrics and per-decision counts. */
export type QueryObserver = (outcome: string, ms: number) => void;

export interface DnsClient {
  /** `until` (performance.now() time): a query that cannot start by then is not sent, and fails. */
  query(name: string, type: RecordType, until?: number): Promise<QueryOutcome>;
  /** Whether the in-flight budget is nearly used up: optional work (refreshes) should wait. */
  busy?(): boolean;
}

export class WireDnsClient implements DnsClient {
  readonly stats: DnsStats = { queries: 0, byOutcome: {} };
  private readonly gate: Gate;
  private readonly udp = new UdpPool(() => randomInt(0x10000));

  constructor(
    private readonly options: DnsClientOptions,
    private readonly observe: QueryObserver = () => undefined,
  ) {
    if (options.servers.length === 0) throw new Error('no DNS servers configured');
    this.gate = new Gate(options.maxInFlight ?? Infinity);
  }

  /** Four fifths of the in-flight budget in use: refreshes ahead of expiry are skipped. */
  busy(): boolean {
    return this.gate.inUse >= this.gate.limit * 0.8;
  }

  /** Queries that could not start before their lookup's deadline (the in-flight budget was used up). */
  get refused(): number {
    return this.gate.refused;
  }

  async query(name: string, type: RecordType, until = Infinity): Promise<QueryOutcome> {
    const outcome = await this.gate.run(until, () => this.ask(name, type));
    return outcome ?? { kind: 'failure', detail: `no DNS query slot free before the deadline (dns_max_in_flight) for ${normaliseName(name)} ${type}` };
  }

  private async ask(name: string, type: RecordType): Promise<QueryOutcome> {
    const qname = normaliseName(name);
    let lastFailure = 'no server answered';
    for (let round = 0; round < this.options.attempts; round++) {
      for (const server of this.options.servers) {
        const exchange = await this.exchange(server, qname, type);
        if (!exchange.ok) {
          lastFailure = exchange.detail;
          continue;
        }
        const { rcode } = exchange.response;
        if (rcode === RCODE.NOERROR || rcode === RCODE.NXDOMAIN) return { kind: 'response', response: exchange.response };
        // SERVFAIL, REFUSED, FORMERR…: another server may do better.
        lastFailure = `${rcodeName(rcode)} from ${server.host} for ${qname} ${type}`;
      }
    }
    return { kind: 'failure', detail: lastFailure };
  }

  private async exchange(server: DnsServer, name: string, type: RecordType): Promise<Exchange> {
    const code = TYPE_CODE[type];
    let sent: { id: number; query: Buffer } = { id: 0, query: Buffer.alloc(0) };
    const encode = (id: number): Buffer => {
      sent = { id, query: encodeQuery(id, name, type, this.options.dnssec) };
      return sent.query;
    };
    let started = performance.now();
    const udp = await this.udp.exchange(server, encode, (id) => ({ id, name, type: code }), this.options.timeoutMs);
    let exchange: Exchange = udp.ok ? decoded(udp.bytes, server) : { ok: false, fault: udp.timeout ? 'timeout' : 'network', detail: udp.detail };
    this.count(exchange, started);
    if (exchange.ok && exchange.response.truncated) {
      // Over TCP with the same ID as the truncated UDP query.
      started = performance.now();
      exchange = await exchangeTcp(server, sent.query, { id: sent.id, name, type: code }, this.options.timeoutMs);
      this.count(exchange, started);
    }
    return exchange;
  }

  /** Counts one exchange by outcome, with the time since `started`. */
  private count(exchange: Exchange, started: number): void {
    const outcome = exchange.ok ? rcodeName(exchange.response.rcode) : FAULT_LABEL[exchange.fault];
    this.stats.queries++;
    this.stats.byOutcome[outcome] = (this.stats.byOutcome[outcome] ?? 0) + 1;
    this.observe(outcome, performance.now() - started);
  }
}
