/** DNS packets built by hand, byte by byte, as a hostile server would send them. */

/** A name as labels, uncompressed. */
export function nameBytes(text: string): Buffer {
  return Buffer.concat([
    ...text
      .split('.')
      .filter(Boolean)
      .map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')])),
    Buffer.from([0]),
  ]);
}

export function header(id: number, counts: [number, number, number, number], flags = 0x8180): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(id, 0);
  h.writeUInt16BE(flags, 2);
  counts.forEach((c, i) => h.writeUInt16BE(c, 4 + 2 * i));
  return h;
}

export function question(qname: string, type: number): Buffer {
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(type, 0);
  tail.writeUInt16BE(1, 2);
  return Buffer.concat([nameBytes(qname), tail]);
}

/** A record whose owner is a pointer to the question name (offset 12). */
export function rr(type: number, rdata: Buffer, ttl = 300): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt16BE(0xc00c, 0);
  b.writeUInt16BE(type, 2);
  b.writeUInt16BE(1, 4);
  b.writeUInt32BE(ttl, 6);
  b.writeUInt16BE(rdata.length, 10);
  return Buffer.concat([b, rdata]);
}

export const A = (address: string): Buffer => rr(1, Buffer.from(address.split('.').map(Number)));
export const AAAA = (hex32: string): Buffer => rr(28, Buffer.from(hex32, 'hex'));
export const MX = (preference: number, exchange: string): Buffer =>
  rr(15, Buffer.concat([Buffer.from([preference >> 8, preference & 255]), nameBytes(exchange)]));
export const CNAME = (target: string): Buffer => rr(5, nameBytes(target));

/** A response to (id, qname, qtype) with these answer records and rcode (default NOERROR). */
export function response(id: number, qname: string, qtype: number, answers: Buffer[], rcode = 0): Buffer {
  return Buffer.concat([header(id, [1, answers.length, 0, 0], 0x8180 | rcode), question(qname, qtype), ...answers]);
}

export interface ParsedQuery {
  readonly id: number;
  readonly name: string;
  readonly type: number;
}

/** Reads the id and question of a query (our own client's: uncompressed). */
export function parseQuery(bytes: Buffer): ParsedQuery | undefined {
  if (bytes.length < 17) return undefined;
  const labels: string[] = [];
  let at = 12;
  while (at < bytes.length && bytes[at] !== 0) {
    labels.push(bytes.toString('latin1', at + 1, at + 1 + bytes[at]));
    at += 1 + bytes[at];
  }
  if (at + 4 >= bytes.length) return undefined;
  return { id: bytes.readUInt16BE(0), name: labels.join('.').toLowerCase(), type: bytes.readUInt16BE(at + 1) };
}

/** A record with its owner name written out (for answers whose records are not all the question's). */
export function rrAt(owner: string, type: number, rdata: Buffer, ttl = 300): Buffer {
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(type, 0);
  fixed.writeUInt16BE(1, 2);
  fixed.writeUInt32BE(ttl, 4);
  fixed.writeUInt16BE(rdata.length, 8);
  return Buffer.concat([nameBytes(owner), fixed, rdata]);
}

export const TLSA_RDATA = (usage: number, selector: number, matchingType: number): Buffer =>
  Buffer.concat([Buffer.from([usage, selector, matchingType]), Buffer.alloc(32, 0x5a)]);
/** TXT rdata: the text as character-strings of at most 255 bytes. */
export function TXT_RDATA(text: string): Buffer {
  const bytes = Buffer.from(text, 'latin1');
  const parts: Buffer[] = [];
  for (let at = 0; at < bytes.length || parts.length === 0; at += 255) {
    const chunk = bytes.subarray(at, at + 255);
    parts.push(Buffer.from([chunk.length]), chunk);
  }
  return Buffer.concat(parts);
}
