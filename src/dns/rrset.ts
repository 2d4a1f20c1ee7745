/**
 * Resolves one name and type to its records, following CNAMEs (those the recursive server put in the
 * answer, and further hops it did not), keeping the alias chain and the smallest TTL seen.
 */
import type { DnsClient } from './client.js';
import { type DnsRecord, type DnsResponse, RCODE, type RecordType } from './message.js';

/** `authenticated`: every response the answer was read from carried AD (the whole chain validated). */
interface Answered {
  readonly aliases: readonly string[];
  readonly canonical: string;
  readonly ttl: number;
  readonly authenticated: boolean;
}

export type RRset<T extends DnsRecord> =
  | (Answered & {
      readonly kind: 'records';
      readonly records: readonly T[];
      /** The answer held more records than are read (MAX_KEPT): what is not here cannot be ruled out. */
      readonly incomplete?: true;
    })
  | (Answered & { readonly kind: 'nodata' })
  | (Answered & { readonly kind: 'nxdomain' })
  | { readonly kind: 'failure'; readonly detail: string };

/** Longest alias chain followed; longer ones (or loops) are a failure, never a decision. */
export const MAX_CNAME_LINKS = 8;
/** Negative TTL when a negative answer carries no SOA. */
export const DEFAULT_NEGATIVE_TTL = 60;

type RecordOf<K extends RecordType> = Extract<DnsRecord, { type: K }>;

/** RFC 2308 §5: a negative answer lives for min(SOA TTL, SOA MINIMUM). */
export function negativeTtl(response: DnsResponse): number {
  const soa = response.authorities.find((r) => r.type === 'SOA');
  return soa && soa.type === 'SOA' ? Math.min(soa.ttl, soa.minimum) : DEFAULT_NEGATIVE_TTL;
}

export async function resolveRRset<K extends RecordType>(client: DnsClient, name: string, type: K): Promise<RRset<RecordOf<K>>> {
  const aliases: string[] = [];
  const visited = new Set<string>();
  let current = name;
  let ttl = Infinity;
  let authenticated = true;
  for (let hop = 0; hop <= MAX_CNAME_LINKS; hop++) {
    const outcome = await client.query(current, type);
    if (outcome.kind === 'failure') return outcome;
    const { response } = outcome;
    authenticated &&= response.authenticated;
    const aliasesBefore = aliases.length;
    // Walk the chain inside this answer.
    for (;;) {
      if (visited.has(current)) return { kind: 'failure', detail: `CNAME loop at ${current}` };
      visited.add(current);
      const owned = response.answers.filter((r) => r.name === current);
      const records = owned.filter((r): r is RecordOf<K> => r.type === type);
      if (records.length > 0) {
        for (const r of records) ttl = Math.min(ttl, r.ttl);
        const set = { kind: 'records' as const, records, aliases, canonical: current, ttl, authenticated };
        // Marked only when records were left unread: the common answer is built as before, no spread.
        return response.answersDropped > 0 ? { ...set, incomplete: true } : set;
      }
      const cname = owned.find((r) => r.type === 'CNAME');
      if (cname?.type !== 'CNAME') break;
      aliases.push(current);
      if (aliases.length > MAX_CNAME_LINKS) return { kind: 'failure', detail: `CNAME chain from ${name} longer than ${MAX_CNAME_LINKS} links` };
      ttl = Math.min(ttl, cname.ttl);
      current = cname.target;
    }
    const negative = Math.min(ttl, negativeTtl(response));
    if (response.rcode === RCODE.NXDOMAIN) return { kind: 'nxdomain', aliases, canonical: current, ttl: negative, authenticated };
    // NOERROR with nothing for `current`: true NODATA (a recursive server that followed the chain sends the
    // target zone's SOA), or a chain the server did not follow (no SOA): then ask for the chain's end.
    const followedHere = aliases.length > aliasesBefore;
    const hasSoa = response.authorities.some((r) => r.type === 'SOA');
    if (!followedHere || hasSoa) return { kind: 'nodata', aliases, canonical: current, ttl: negative, authenticated };
    visited.delete(current);
  }
  return { kind: 'failure', detail: `CNAME chain from ${name} longer than ${MAX_CNAME_LINKS} links` };
}
