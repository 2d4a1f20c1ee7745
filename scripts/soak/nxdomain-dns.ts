/**
 * A minimal DNS server for the soak: every question gets NXDOMAIN at once, with an SOA giving a negative
 * TTL, so each new domain costs the engine exactly one real DNS exchange. Hand-encoded: at millions of
 * queries dns2's encoder would be the bottleneck, not mx4map.
 */
import { createSocket, type Socket } from 'node:dgram';

/** Where the question section of a query ends (after QNAME, QTYPE, QCLASS), or -1. */
function questionEnd(query: Buffer): number {
  let at = 12;
  while (at < query.length) {
    const len = query[at];
    if (len === 0) return at + 5 <= query.length ? at + 5 : -1;
    if (len >= 0xc0) return -1;
    at += len + 1;
  }
  return -1;
}

// The authority record: owner "." (root), SOA with minimum 300.
const SOA = Buffer.from([
  0,
  0,
  6,
  0,
  1,
  0,
  0,
  1,
  0x2c,
  0,
  22, // root, SOA, IN, TTL 300, RDLENGTH 22
  0,
  0,
  0,
  0,
  0,
  1,
  0,
  0,
  0x0e,
  0x10,
  0,
  0,
  0x02,
  0x58,
  0,
  0x09,
  0x3a,
  0x80,
  0,
  0,
  1,
  0x2c, // mname ".", rname ".", serial 1, refresh, retry, expire, minimum 300
]);

export async function startNxdomainDns(): Promise<{ spec: string; queries: () => number; close(): void }> {
  const socket: Socket = createSocket('udp4');
  let queries = 0;
  socket.on('message', (query, from) => {
    const end = questionEnd(query);
    if (query.length < 12 || end < 0) return;
    queries++;
    const reply = Buffer.concat([query.subarray(0, end), SOA]);
    reply[2] = 0x81 | (query[2] & 0x01); // QR, RD copied
    reply[3] = 0x83; // RA, NXDOMAIN
    reply.writeUInt16BE(1, 4);
    reply.writeUInt16BE(0, 6);
    reply.writeUInt16BE(1, 8);
    reply.writeUInt16BE(0, 10);
    socket.send(reply, from.port, from.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  socket.setRecvBufferSize(8 << 20);
  socket.setSendBufferSize(8 << 20);
  return { spec: `127.0.0.1:${socket.address().port}`, queries: () => queries, close: () => socket.close() };
}
