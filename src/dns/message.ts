/**
 * The DNS wire format (RFC 1035 §4), our own: queries encoded, responses checked and decoded. Pure.
 *
 * Whoever owns a domain chooses what its servers send, and a resolver passes most of it on, so decoding
 * is bounded before it starts. dns2's parser (used here before) decoded a whole packet before its ID and
 * question could be checked, believed the header's record counts (a 100-byte reply claiming 65,535
 * records per section took a second of main-thread time), and took ~290 ms for a legal 4,000-record
 * answer. Here:
 *  - `matchesQuery` checks ID, QR, the question (name, type, class) on the raw bytes: a stray or spoofed
 *    reply costs microseconds and is never decoded;
 *  - counts that cannot fit (every record needs 11 bytes at least) reject the packet at once;
 *  - names follow compression pointers backwards only, at most 255 bytes and 127 jumps;
 *  - only A, AAAA, MX, CNAME, PTR, SOA, TLSA and TXT of class IN are kept, at most MAX_KEPT per section (the rest
 *    is walked past by its length); A must be 4 bytes, AAAA 16, names must be host-name-like — anything
 *    else makes the whole response malformed (a DNS failure: fail open, never a decision on broken data).
 *    Of a TLSA record only its three parameters are kept, of a TXT record its first TXT_KEPT characters.
 */
export type RecordType = 'A' | 'AAAA' | 'MX' | 'CNAME' | 'PTR' | 'SOA' | 'TLSA' | 'TXT';

export const TYPE_CODE: Record<RecordType, number> = { A: 1, AAAA: 28, MX: 15, CNAME: 5, PTR: 12, SOA: 6, TLSA: 52, TXT: 16 };

export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

export type DnsRecord =
  | { readonly name: string; readonly type: 'A' | 'AAAA'; readonly ttl: number; readonly address: string }
  | { readonly name: string; readonly type: 'MX'; readonly ttl: number; readonly exchange: string; readonly priority: number }
  | { readonly name: string; readonly type: 'CNAME'; readonly ttl: number; readonly target: string }
  | { readonly name: string; readonly type: 'PTR'; readonly ttl: number; readonly target: string }
  | { readonly name: string; readonly type: 'SOA'; readonly ttl: number; readonly minimum: number }
  | { readonly name: string; readonly type: 'TLSA'; readonly ttl: number; readonly usage: number; readonly selector: number; readonly matchingType: number }
  | { readonly name: string; readonly type: 'TXT'; readonly ttl: number; readonly text: string };

export interface DnsResponse {
  readonly id: number;
  readonly rcode: number;
  readonly truncated: boolean;
  /** AD: the resolver says it validated the answer with DNSSEC (to be believed only from a validating resolver we trust). */
  readonly authenticated: boolean;
  readonly question: { readonly name: string; readonly type: number } | undefined;
  readonly answers: readonly DnsRecord[];
  readonly authorities: readonly DnsRecord[];
  /** Answer records walked past unread once MAX_KEPT were kept: the answers are then not the whole RRset. */
  readonly answersDropped: number;
}

/** Records of the kinds we use kept per section; a 4,000-address answer keeps the first 256. */
export const MAX_KEPT = 256;
/** EDNS0 UDP payload size we advertise: the DNS Flag Day 2020 value, avoiding fragmentation. */
const EDNS_PAYLOAD = 1232;
/** Characters of a TXT record kept: enough to read a policy record's version tag (`v=STSv1; id=…`). */
export const TXT_KEPT = 256;
const FLAG_AD = 0x0020;
/** The DO bit ("DNSSEC OK") in the OPT record's TTL field. */
const EDNS_DO = 0x8000;
const CLASS_IN = 1;
const TYPE_OPT = 41;
const HEADER = 12;
const MIN_RECORD = 11;
const MAX_NAME = 255;
const MAX_JUMPS = 127;

export class MalformedResponse extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MalformedResponse';
  }
}

export function normaliseName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

/**
 * A query: our ID, recursion desired, one question, an EDNS0 OPT record advertising EDNS_PAYLOAD. With
 * `dnssec`, the OPT record sets DO (RFC 3225, as Postfix does with smtp_dns_support_level = dnssec) and the
 * header AD (RFC 6840 §5.7): a validating resolver then says in AD whether it validated the answer.
 */
export function encodeQuery(id: number, name: string, type: RecordType, dnssec = false): Buffer {
  const qname = normaliseName(name);
  // One buffer, written in place: a label's length byte, then its bytes; empty labels are skipped.
  const out = Buffer.alloc(HEADER + qname.length + 2 + 4 + 11);
  out.writeUInt16BE(id, 0);
  out.writeUInt16BE(dnssec ? 0x0100 | FLAG_AD : 0x0100, 2); // RD (and AD)
  out.writeUInt16BE(1, 4); // QDCOUNT
  out.writeUInt16BE(1, 10); // ARCOUNT: the OPT record
  let at = HEADER;
  let lengthAt = at++;
  for (let i = 0; i <= qname.length; i++) {
    const c = i < qname.length ? qname.charCodeAt(i) : 0x2e;
    if (c !== 0x2e) {
      out[at++] = c & 0xff; // latin1, as the name is read back
      continue;
    }
    const length = at - lengthAt - 1;
    if (length === 0) continue; // an empty label: nothing written for it
    out[lengthAt] = length;
    lengthAt = at++;
  }
  // The root label: the length slot left open is the terminating zero.
  out[lengthAt] = 0;
  at = lengthAt + 1;
  out.writeUInt16BE(TYPE_CODE[type], at);
  out.writeUInt16BE(CLASS_IN, at + 2);
  at += 4;
  out[at] = 0; // root owner
  out.writeUInt16BE(TYPE_OPT, at + 1);
  out.writeUInt16BE(EDNS_PAYLOAD, at + 3); // the OPT "class" is the payload size
  // TTL: extended rcode and version 0, then the flags (DO); RDLENGTH stays 0.
  if (dnssec) out.writeUInt16BE(EDNS_DO, at + 7);
  return out.subarray(0, at + 11);
}

/**
 * Where a name being read is spelled out, lowercased, before it becomes one string: building it a character
 * at a time, label by label, made several strings per label, the largest share of what a query allocated.
 * A name is at most MAX_NAME bytes (checked before anything is written), dots included.
 */
const NAME_TEXT = Buffer.alloc(MAX_NAME);

/** Reads a name at `offset`: its lowercased text (undefined when not a usable host name) and where it ends. */
function readName(buf: Buffer, offset: number): { name: string | undefined; next: number } {
  let at = offset;
  let next = -1;
  let jumps = 0;
  let length = 0;
  let valid = true;
  let written = 0;
  for (;;) {
    if (at >= buf.length) throw new MalformedResponse('name runs past the end');
    const len = buf[at];
    if (len === 0) {
      if (next < 0) next = at + 1;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      if (at + 1 >= buf.length) throw new MalformedResponse('compression pointer cut short');
      const target = ((len & 0x3f) << 8) | buf[at + 1];
      // Only backwards, and not too often: no loops, no unbounded work.
      if (target >= at || ++jumps > MAX_JUMPS) throw new MalformedResponse('bad compression pointer');
      if (next < 0) next = at + 2;
      at = target;
      continue;
    }
    if (len > 63) throw new MalformedResponse('label longer than 63 bytes');
    if (at + 1 + len > buf.length) throw new MalformedResponse('label runs past the end');
    length += len + 1;
    if (length > MAX_NAME) throw new MalformedResponse('name longer than 255 bytes');
    if (written > 0) NAME_TEXT[written++] = 0x2e;
    for (let i = at + 1; i <= at + len; i++) {
      let c = buf[i];
      if (c >= 0x41 && c <= 0x5a) c += 0x20;
      // Host names, plus '_' (service labels) and '*' (wildcards): anything else cannot name a mail host.
      if (!((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x5f || c === 0x2a)) valid = false;
      NAME_TEXT[written++] = c;
    }
    at += 1 + len;
  }
  return { name: valid ? NAME_TEXT.toString('latin1', 0, written) : undefined, next };
}

function skipName(buf: Buffer, offset: number): number {
  let at = offset;
  for (;;) {
    if (at >= buf.length) throw new MalformedResponse('name runs past the end');
    const len = buf[at];
    if (len === 0) return at + 1;
    if ((len & 0xc0) === 0xc0) {
      if (at + 1 >= buf.length) throw new MalformedResponse('compression pointer cut short');
      return at + 2;
    }
    if (len > 63) throw new MalformedResponse('label longer than 63 bytes');
    at += 1 + len;
  }
}

export interface Expected {
  readonly id: number;
  readonly name: string;
  readonly type: number;
}

/**
 * Whether raw bytes are a response to our query: QR set, our ID, one question that is ours. Costs
 * microseconds; nothing else of the packet is looked at.
 */
export function matchesQuery(buf: Buffer, expected: Expected): boolean {
  if (buf.length < HEADER + 5) return false;
  if (buf.readUInt16BE(0) !== expected.id || (buf[2] & 0x80) === 0 || buf.readUInt16BE(4) !== 1) return false;
  let at = HEADER;
  for (const label of expected.name.split('.')) {
    if (label === '') continue;
    if (at >= buf.length || buf[at] !== label.length || at + 1 + label.length > buf.length) return false;
    for (let i = 0; i < label.length; i++) {
      let c = buf[at + 1 + i];
      if (c >= 0x41 && c <= 0x5a) c += 0x20;
      if (c !== label.charCodeAt(i)) return false;
    }
    at += 1 + label.length;
  }
  return at + 5 <= buf.length && buf[at] === 0 && buf.readUInt16BE(at + 1) === expected.type && buf.readUInt16BE(at + 3) === CLASS_IN;
}

/** The 16 address bytes in canonical text (RFC 5952: lowercase, longest run of two or more zero groups as ::). */
function ipv6Text(buf: Buffer, at: number): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(buf.readUInt16BE(at + i));
  let runStart = -1;
  let runLength = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > runLength) [runStart, runLength] = [i, j - i];
    i = j;
  }
  const hex = (list: number[]): string => list.map((g) => g.toString(16)).join(':');
  if (runLength < 2) return hex(groups);
  return `${hex(groups.slice(0, runStart))}::${hex(groups.slice(runStart + runLength))}`;
}

interface Section {
  readonly records: DnsRecord[];
  next: number;
  dropped: number;
}

/**
 * Owner names, decoded once per place in the packet: a large answer repeats one name thousands of times,
 * each a pointer to the same offset.
 */
type NameCache = Map<number, string | undefined>;

function ownerName(buf: Buffer, offset: number, cache: NameCache): { name: string | undefined; next: number } {
  // The usual owner is one compression pointer: decode its target once.
  if ((buf[offset] & 0xc0) === 0xc0 && offset + 1 < buf.length) {
    const target = ((buf[offset] & 0x3f) << 8) | buf[offset + 1];
    if (target < offset) {
      if (!cache.has(target)) cache.set(target, readName(buf, target).name);
      return { name: cache.get(target), next: offset + 2 };
    }
  }
  return readName(buf, offset);
}

function readSection(buf: Buffer, offset: number, count: number, names: NameCache): Section {
  const records: DnsRecord[] = [];
  let at = offset;
  let dropped = 0;
  for (let i = 0; i < count; i++) {
    if (records.length >= MAX_KEPT) {
      dropped++;
      // Enough kept: the rest is only walked past (unchecked: never used), to find where the next section starts.
      at = skipName(buf, at);
      if (at + 10 > buf.length) throw new MalformedResponse('record header runs past the end');
      at += 10 + buf.readUInt16BE(at + 8);
      if (at > buf.length) throw new MalformedResponse('record data runs past the end');
      continue;
    }
    const owner = ownerName(buf, at, names);
    at = owner.next;
    if (at + 10 > buf.length) throw new MalformedResponse('record header runs past the end');
    const type = buf.readUInt16BE(at);
    const klass = buf.readUInt16BE(at + 2);
    const raw = buf.readUInt32BE(at + 4);
    const ttl = raw > 0x7fffffff ? 0 : raw; // RFC 2181 §8
    const rdlength = buf.readUInt16BE(at + 8);
    const rdata = at + 10;
    at = rdata + rdlength;
    if (at > buf.length) throw new MalformedResponse('record data runs past the end');
    if (klass !== CLASS_IN) continue;
    const name = owner.name;
    switch (type) {
      case TYPE_CODE.A:
        if (rdlength !== 4) throw new MalformedResponse(`A record of ${rdlength} bytes`);
        if (name !== undefined) records.push({ name, type: 'A', ttl, address: `${buf[rdata]}.${buf[rdata + 1]}.${buf[rdata + 2]}.${buf[rdata + 3]}` });
        break;
      case TYPE_CODE.AAAA:
        if (rdlength !== 16) throw new MalformedResponse(`AAAA record of ${rdlength} bytes`);
        if (name !== undefined) records.push({ name, type: 'AAAA', ttl, address: ipv6Text(buf, rdata) });
        break;
      case TYPE_CODE.MX: {
        if (rdlength < 3) throw new MalformedResponse('MX record too short');
        const exchange = readName(buf, rdata + 2);
        if (exchange.next > at) throw new MalformedResponse('MX name runs past its record');
        if (exchange.name === undefined) throw new MalformedResponse('MX record names no host');
        if (name !== undefined) records.push({ name, type: 'MX', ttl, exchange: exchange.name, priority: buf.readUInt16BE(rdata) });
        break;
      }
      case TYPE_CODE.CNAME: {
        const target = readName(buf, rdata);
        if (target.next > at) throw new MalformedResponse('CNAME target runs past its record');
        if (target.name === undefined) throw new MalformedResponse('CNAME target is not a host name');
        if (name !== undefined) records.push({ name, type: 'CNAME', ttl, target: target.name });
        break;
      }
      case TYPE_CODE.PTR: {
        // A PTR may name anything; one that names no host name cannot pass a forward check: left out.
        const target = readName(buf, rdata);
        if (target.next > at) throw new MalformedResponse('PTR name runs past its record');
        if (name !== undefined && target.name !== undefined) records.push({ name, type: 'PTR', ttl, target: target.name });
        break;
      }
      case TYPE_CODE.SOA: {
        const fixed = skipName(buf, skipName(buf, rdata));
        if (fixed + 20 > at) throw new MalformedResponse('SOA record too short');
        if (name !== undefined) records.push({ name, type: 'SOA', ttl, minimum: buf.readUInt32BE(fixed + 16) });
        break;
      }
      case TYPE_CODE.TLSA:
        // Usage, selector, matching type, then the certificate association data (not needed: kept unread).
        if (rdlength < 4) throw new MalformedResponse('TLSA record too short');
        if (name !== undefined) records.push({ name, type: 'TLSA', ttl, usage: buf[rdata], selector: buf[rdata + 1], matchingType: buf[rdata + 2] });
        break;
      case TYPE_CODE.TXT:
        if (name !== undefined) records.push({ name, type: 'TXT', ttl, text: readText(buf, rdata, at) });
        break;
    }
  }
  return { records, next: at, dropped };
}

/** A TXT record's character-strings joined (RFC 7208 §3.3), its first TXT_KEPT characters, as latin1. */
function readText(buf: Buffer, from: number, end: number): string {
  let text = '';
  for (let at = from; at < end; ) {
    const len = buf[at];
    if (at + 1 + len > end) throw new MalformedResponse('TXT string runs past its record');
    if (text.length < TXT_KEPT) text += buf.toString('latin1', at + 1, at + 1 + Math.min(len, TXT_KEPT - text.length));
    at += 1 + len;
  }
  return text;
}

/** Decodes a response already matched to our query; throws MalformedResponse. */
export function decodeResponse(buf: Buffer): DnsResponse {
  if (buf.length < HEADER) throw new MalformedResponse('shorter than a header');
  const flags = buf.readUInt16BE(2);
  const [qd, an, ns, ar] = [buf.readUInt16BE(4), buf.readUInt16BE(6), buf.readUInt16BE(8), buf.readUInt16BE(10)];
  if ((flags & 0x8000) === 0) throw new MalformedResponse('not a response');
  if (HEADER + qd * 5 + (an + ns + ar) * MIN_RECORD > buf.length)
    throw new MalformedResponse(`header claims ${an + ns + ar} records, more than ${buf.length} bytes can hold`);
  let at = HEADER;
  let question: DnsResponse['question'];
  for (let i = 0; i < qd; i++) {
    const q = readName(buf, at);
    if (q.next + 4 > buf.length) throw new MalformedResponse('question runs past the end');
    if (i === 0) question = { name: q.name ?? '', type: buf.readUInt16BE(q.next) };
    at = q.next + 4;
  }
  const names: NameCache = new Map();
  const answers = readSection(buf, at, an, names);
  const authorities = readSection(buf, answers.next, ns, names);
  return {
    id: buf.readUInt16BE(0),
    rcode: flags & 0x0f,
    truncated: (flags & 0x0200) !== 0,
    authenticated: (flags & FLAG_AD) !== 0,
    question,
    answers: answers.records,
    authorities: authorities.records,
    answersDropped: answers.dropped,
  };
}

const RCODE_NAMES = Object.fromEntries(Object.entries(RCODE).map(([k, v]) => [v, k])) as Record<number, string>;

/** The rcode's name; anything outside the common set is "other" (a closed set, for metric labels). */
export function rcodeName(rcode: number): string {
  return RCODE_NAMES[rcode] ?? 'other';
}
