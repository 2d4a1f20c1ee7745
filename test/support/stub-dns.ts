/**
 * An in-memory DnsClient for unit tests of the engine: answers from records held in a map (NXDOMAIN for
 * unknown names, NODATA otherwise), and can hold a name's queries until the test lets them go.
 */
import type { DnsClient, QueryOutcome } from '../../src/dns/client.js';
import { type DnsRecord, RCODE, type RecordType, TYPE_CODE } from '../../src/dns/message.js';

export interface StubDns extends DnsClient {
  readonly records: Map<string, DnsRecord[]>;
  /** Queries asked, as "name TYPE". */
  readonly asked: string[];
  /** Holds every query for `name` until release(name). */
  hold(name: string): void;
  release(name: string): void;
  /** Names whose queries fail (SERVFAIL from every server, as the client reports it). */
  readonly failing: Set<string>;
  /** Names whose answers come authenticated (AD), as from a validating resolver for a signed zone. */
  readonly signed: Set<string>;
}

const soa = (name: string): DnsRecord => ({ name, type: 'SOA', ttl: 60, minimum: 60 });

export function stubDns(records: Record<string, DnsRecord[]> = {}): StubDns {
  const held = new Map<string, Array<() => void>>();
  const map = new Map(Object.entries(records));
  const answer = (name: string, type: RecordType): QueryOutcome => {
    const owned = map.get(name);
    const question = { name, type: TYPE_CODE[type] };
    const authenticated = stub.signed.has(name);
    if (!owned)
      return {
        kind: 'response',
        response: { id: 0, rcode: RCODE.NXDOMAIN, truncated: false, authenticated, question, answers: [], authorities: [soa(name)], answersDropped: 0 },
      };
    const answers = owned.filter((r) => r.type === type || r.type === 'CNAME');
    return {
      kind: 'response',
      response: {
        id: 0,
        rcode: RCODE.NOERROR,
        truncated: false,
        authenticated,
        question,
        answers,
        authorities: answers.length ? [] : [soa(name)],
        answersDropped: 0,
      },
    };
  };
  const stub: StubDns = {
    records: map,
    asked: [],
    failing: new Set(),
    signed: new Set(),
    async query(name, type) {
      stub.asked.push(`${name} ${type}`);
      const waiting = held.get(name);
      if (waiting) await new Promise<void>((resolve) => waiting.push(resolve));
      if (stub.failing.has(name)) return { kind: 'failure', detail: `SERVFAIL from 192.0.2.53 for ${name} ${type}` };
      return answer(name, type);
    },
    hold(name) {
      held.set(name, []);
    },
    release(name) {
      const waiting = held.get(name) ?? [];
      held.delete(name);
      for (const go of waiting) go();
    },
  };
  return stub;
}

/** MX host `mail.<domain>` as an alias of `real.<domain>` with one A record: a domain forced for cname-mx. */
export function cnameMxDomain(domain: string, address: string, ttl = 300): Record<string, DnsRecord[]> {
  return {
    [domain]: [{ name: domain, type: 'MX', ttl, exchange: `mail.${domain}`, priority: 10 }],
    [`mail.${domain}`]: [{ name: `mail.${domain}`, type: 'CNAME', ttl, target: `real.${domain}` }],
    [`real.${domain}`]: [{ name: `real.${domain}`, type: 'A', ttl, address }],
  };
}

/** A domain whose MX host has A and AAAA: left alone when probing is off. */
export function dualStackDomain(domain: string, address: string, ttl = 300): Record<string, DnsRecord[]> {
  return {
    [domain]: [{ name: domain, type: 'MX', ttl, exchange: `mx.${domain}`, priority: 10 }],
    [`mx.${domain}`]: [
      { name: `mx.${domain}`, type: 'A', ttl, address },
      { name: `mx.${domain}`, type: 'AAAA', ttl, address: '2001:db8::1' },
    ],
  };
}
