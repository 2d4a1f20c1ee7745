/**
 * A small authoritative DNS server over UDP on loopback, answering from a zone held in memory: what `mx4map
 * demo` resolves against, so a newcomer sees every kind of answer without a DNS server of their own. It
 * answers A, AAAA, MX, CNAME (followed within the zone), TXT and SOA; NXDOMAIN and NODATA carry the SOA.
 */
import { type Socket, createSocket } from 'node:dgram';
import type { AddressInfo } from 'node:net';

export type ZoneRecord =
  | { readonly type: 'A' | 'AAAA'; readonly address: string }
  | { readonly type: 'MX'; readonly preference: number; readonly exchange: string }
  | { readonly type: 'CNAME'; readonly target: string }
  | { readonly type: 'TXT'; readonly text: string };

export type Zone = Readonly<Record<string, readonly ZoneRecord[]>>;

const TYPES: Record<ZoneRecord['type'] | 'SOA', number> = { A: 1, AAAA: 28, MX: 15, CNAME: 5, TXT: 16, SOA: 6 };
const TTL = 300;

function encodeName(name: string): Buffer {
  const labels = name.replace(/\.$/, '').split('.').filter(Boolean);
  return Buffer.concat([...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'ascii')])), Buffer.from([0])]);
}

function ipv6Bytes(address: string): Buffer {
  const [head, tail] = address.split('::');
  const part = (s: string | undefined): number[] => (s ? s.split(':').map((g) => Number.parseInt(g, 16)) : []);
  const left = part(head);
  const right = part(tail);
  const groups = tail === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill(0), ...right];
  const out = Buffer.alloc(16);
  for (const [i, g] of groups.entries()) out.writeUInt16BE(g, i * 2);
  return out;
}

function rdata(r: ZoneRecord | { type: 'SOA' }): Buffer {
  switch (r.type) {
    case 'A':
      return Buffer.from(r.address.split('.').map(Number));
    case 'AAAA':
      return ipv6Bytes(r.address);
    case 'MX': {
      const pref = Buffer.alloc(2);
      pref.writeUInt16BE(r.preference);
      return Buffer.concat([pref, encodeName(r.exchange)]);
    }
    case 'CNAME':
      return encodeName(r.target);
    case 'TXT':
      return Buffer.concat([Buffer.from([r.text.length]), Buffer.from(r.text, 'ascii')]);
    case 'SOA': {
      const numbers = Buffer.alloc(20);
      for (const [i, n] of [1, 3600, 600, 86400, 60].entries()) numbers.writeUInt32BE(n, i * 4);
      return Buffer.concat([encodeName('ns.demo'), encodeName('hostmaster.demo'), numbers]);
    }
  }
}

function resourceRecord(name: string, r: ZoneRecord | { type: 'SOA' }): Buffer {
  const data = rdata(r);
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(TYPES[r.type], 0);
  fixed.writeUInt16BE(1, 2);
  fixed.writeUInt32BE(r.type === 'SOA' ? 60 : TTL, 4);
  fixed.writeUInt16BE(data.length, 8);
  return Buffer.concat([encodeName(name), fixed, data]);
}

/** The reply to one query, or undefined when the bytes are not a query we can read. */
export function answerQuery(zone: Zone, query: Buffer): Buffer | undefined {
  if (query.length < 17 || query.readUInt16BE(4) !== 1) return undefined;
  const labels: string[] = [];
  let at = 12;
  while (at < query.length && query[at] !== 0) {
    const length = query[at];
    if (length > 63 || at + 1 + length > query.length) return undefined;
    labels.push(query.toString('ascii', at + 1, at + 1 + length).toLowerCase());
    at += 1 + length;
  }
  if (at + 5 > query.length) return undefined;
  const question = query.subarray(12, at + 5);
  const qtype = query.readUInt16BE(at + 1);
  const answers: Buffer[] = [];
  let name = labels.join('.');
  for (let hops = 0; hops < 8; hops++) {
    const owned = zone[name];
    if (!owned) break;
    const alias = owned.find((r) => r.type === 'CNAME');
    if (alias && qtype !== TYPES.CNAME) {
      answers.push(resourceRecord(name, alias));
      name = (alias as { target: string }).target;
      continue;
    }
    for (const r of owned) if (TYPES[r.type] === qtype) answers.push(resourceRecord(name, r));
    break;
  }
  const exists = zone[name] !== undefined;
  const header = Buffer.alloc(12);
  header.writeUInt16BE(query.readUInt16BE(0), 0);
  // QR, AA, RD copied, RA; NXDOMAIN when the name (at the end of any CNAME chain) does not exist.
  header.writeUInt16BE(0x8400 | (query.readUInt16BE(2) & 0x0100) | 0x0080 | (exists ? 0 : 3), 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(answers.length, 6);
  const authority = answers.length === 0 ? [resourceRecord('demo', { type: 'SOA' })] : [];
  header.writeUInt16BE(authority.length, 8);
  return Buffer.concat([header, question, ...answers, ...authority]);
}

export interface ZoneServer {
  readonly spec: string;
  close(): void;
}

export async function startZoneServer(zone: Zone, host = '127.0.0.1'): Promise<ZoneServer> {
  const socket: Socket = createSocket('udp4');
  socket.on('message', (query, from) => {
    const reply = answerQuery(zone, query);
    if (reply) socket.send(reply, from.port, from.address);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, host, () => resolve());
  });
  return { spec: `${host}:${(socket.address() as AddressInfo).port}`, close: () => socket.close() };
}
