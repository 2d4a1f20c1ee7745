/**
 * A DNS server on 127.0.0.1 (UDP and TCP on one port) whose answers the test writes as raw packets: lying
 * headers, floods of wrong-ID replies, oversized answers, bad record data. `answer` gets each query and
 * returns the packets to send, in order (none: stay silent).
 */
import { createSocket } from 'node:dgram';
import { createServer, type Socket } from 'node:net';
import type { DnsServer } from '../../src/dns/transport.js';
import { type ParsedQuery, parseQuery } from './dns-packets.js';

export type HostileAnswer = (query: ParsedQuery, overTcp: boolean, raw: Buffer) => Buffer[] | undefined | Promise<Buffer[] | undefined>;

export interface HostileDns {
  readonly server: DnsServer;
  readonly spec: string;
  /** Queries seen, as "name TYPE-number". */
  readonly queries: string[];
  close(): Promise<void>;
}

export async function startHostileDns(answer: HostileAnswer): Promise<HostileDns> {
  const queries: string[] = [];
  const clients = new Set<Socket>();
  const onQuery = async (bytes: Buffer, overTcp: boolean): Promise<Buffer[]> => {
    const q = parseQuery(bytes);
    if (!q) return [];
    queries.push(`${q.name} ${q.type}`);
    return (await answer(q, overTcp, bytes)) ?? [];
  };
  // UDP on a random port, TCP on the same one; another pair when TCP cannot have it.
  for (let attempt = 1; ; attempt++) {
    const udp = createSocket('udp4');
    udp.on('message', (msg, from) => {
      void onQuery(msg, false).then((packets) => {
        for (const packet of packets) udp.send(packet, from.port, from.address);
      });
    });
    const tcp = createServer((socket) => {
      clients.add(socket);
      socket.on('close', () => clients.delete(socket));
      socket.on('error', () => undefined);
      let buffered = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
          const query = buffered.subarray(2, 2 + buffered.readUInt16BE(0));
          buffered = buffered.subarray(2 + query.length);
          void onQuery(query, true).then((packets) => {
            for (const packet of packets) {
              const length = Buffer.alloc(2);
              length.writeUInt16BE(packet.length);
              if (!socket.destroyed) socket.write(Buffer.concat([length, packet]));
            }
          });
        }
      });
    });
    await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
    const port = udp.address().port;
    const listening = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 2000);
      tcp.once('error', () => (clearTimeout(timer), resolve(false)));
      tcp.listen(port, '127.0.0.1', () => (clearTimeout(timer), resolve(true)));
    });
    if (!listening) {
      udp.close();
      tcp.close();
      if (attempt >= 5) throw new Error('hostile DNS: no port free for UDP and TCP at once');
      continue;
    }
    udp.setRecvBufferSize(4 << 20);
    udp.setSendBufferSize(4 << 20);
    return {
      server: { host: '127.0.0.1', port, family: 4 },
      spec: `127.0.0.1:${port}`,
      queries,
      close: () =>
        new Promise<void>((resolve) => {
          for (const s of clients) s.destroy();
          udp.close();
          tcp.close(() => resolve());
        }),
    };
  }
}
