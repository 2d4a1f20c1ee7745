/**
 * DNS messages: queries encoded and responses decoded with dns2's Packet codec, turned into plain typed
 * records. Pure: no sockets.
 */
import { Packet } from 'dns2';

export type RecordType = 'A' | 'AAAA' | 'MX' | 'CNAME' | 'SOA';

export const TYPE_CODE: Record<RecordType, number> = { A: 1, AAAA: 28, MX: 15, CNAME: 5, SOA: 6 };

export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

export type DnsRecord =
  | { readonly name: string; readonly type: 'A' | 'AAAA'; readonly ttl: number; readonly address: string }
  | { readonly name: string; readonly type: 'MX'; readonly ttl: number; readonly exchange: string; readonly priority: number }
  | { readonly name: string; readonly type: 'CNAME'; readonly ttl: number; readonly target: string }
  | { readonly name: string; readonly type: 'SOA'; readonly ttl: number; readonly minimum: number };

export interface DnsResponse {
  readonly id: number;
  readonly rcode: number;
  readonly truncated: boolean;
  readonly question: { readonly name: string; readonly type: number } | undefined;
  readonly answers: readonly DnsRecord[];
  readonly authorities: readonly DnsRecord[];
}

/** EDNS0 UDP payload size we advertise: the DNS Flag Day 2020 value, avoiding fragmentation. */
const EDNS_PAYLOAD = 1232;

export function normaliseName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

export function encodeQuery(id: number, name: string, type: RecordType): Buffer {
  const packet = new Packet();
  packet.header.id = id;
  packet.header.rd = 1;
  packet.questions.push({ name, type: TYPE_CODE[type], class: Packet.CLASS.IN } as never);
  // dns2's types omit the options argument its runtime takes.
  const edns = Packet.Resource.EDNS as unknown as (rdata: unknown[], opts: { udpPayloadSize: number }) => unknown;
  packet.additionals.push(edns([], { udpPayloadSize: EDNS_PAYLOAD }) as never);
  return packet.toBuffer();
}

interface RawResource {
  name?: string;
  type?: number;
  class?: number;
  ttl?: number;
  address?: string;
  exchange?: string;
  priority?: number;
  domain?: string;
  minimum?: number;
}

function toRecord(raw: RawResource): DnsRecord | undefined {
  if (typeof raw.name !== 'string' || typeof raw.ttl !== 'number' || raw.class !== Packet.CLASS.IN) return undefined;
  const name = normaliseName(raw.name);
  const ttl = raw.ttl;
  switch (raw.type) {
    case TYPE_CODE.A:
      return typeof raw.address === 'string' ? { name, type: 'A', ttl, address: raw.address } : undefined;
    case TYPE_CODE.AAAA:
      return typeof raw.address === 'string' ? { name, type: 'AAAA', ttl, address: raw.address } : undefined;
    case TYPE_CODE.MX:
      return typeof raw.exchange === 'string' && typeof raw.priority === 'number' ? { name, type: 'MX', ttl, exchange: normaliseName(raw.exchange), priority: raw.priority } : undefined;
    case TYPE_CODE.CNAME:
      return typeof raw.domain === 'string' ? { name, type: 'CNAME', ttl, target: normaliseName(raw.domain) } : undefined;
    case TYPE_CODE.SOA:
      return typeof raw.minimum === 'number' ? { name, type: 'SOA', ttl, minimum: raw.minimum } : undefined;
    default:
      return undefined;
  }
}

/** Decodes a response; undefined when the bytes are not a DNS response at all. */
export function decodeResponse(bytes: Buffer): DnsResponse | undefined {
  if (bytes.length < 12) return undefined;
  let packet: { header: { id: number; qr: number; rcode: number; tc: number }; questions: Array<{ name: string; type: number }>; answers: RawResource[]; authorities: RawResource[] };
  try {
    packet = Packet.parse(bytes) as unknown as typeof packet;
  } catch {
    return undefined;
  }
  if (packet.header.qr !== 1) return undefined;
  const q = packet.questions[0];
  return {
    id: packet.header.id,
    rcode: packet.header.rcode,
    truncated: packet.header.tc === 1,
    question: q && typeof q.name === 'string' ? { name: normaliseName(q.name), type: q.type } : undefined,
    answers: (packet.answers ?? []).map(toRecord).filter((r): r is DnsRecord => r !== undefined),
    authorities: (packet.authorities ?? []).map(toRecord).filter((r): r is DnsRecord => r !== undefined),
  };
}

export function rcodeName(rcode: number): string {
  const entry = Object.entries(RCODE).find(([, v]) => v === rcode);
  return entry ? entry[0] : `RCODE${rcode}`;
}
