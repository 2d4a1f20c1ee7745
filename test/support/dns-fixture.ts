/**
 * An in-process DNS server (dns2) on 127.0.0.1, UDP and TCP on one port, acting as a recursive resolver
 * over a zone the test describes. Counts every query, and can fail, stay silent or change records per name.
 */
import { Socket } from 'node:net';
import { createServer, Packet } from 'dns2';
import { RCODE } from '../../src/dns/message.js';
import type { DnsServer } from '../../src/dns/transport.js';

export type FixtureRecord =
  | { type: 'A' | 'AAAA'; address: string; ttl?: number }
  | { type: 'MX'; exchange: string; priority: number; ttl?: number }
  | { type: 'CNAME'; target: string; ttl?: number }
  | { type: 'PTR'; target: string; ttl?: number }
  | { type: 'TXT'; text: string; ttl?: number };

/**
 * What a name does instead of answering from the zone, per query type ('*' = every type).
 * 'tc-silent-tcp': a truncated (TC) answer over UDP, and over TCP a connection accepted and never answered.
 * 'oversized': the name's A records, truncated over UDP and whole over TCP, encoded by `encodeAAnswer`
 * (dns2's encoder is quadratic in the record count: 17 s for the 4,000 records of a 64 KB answer).
 */
export type Behaviour = 'servfail' | 'refused' | 'silent' | 'nxdomain' | 'slow' | 'tc-silent-tcp' | 'oversized';

export interface Zone {
  records: Record<string, FixtureRecord[]>;
  behaviours?: Record<string, Partial<Record<'A' | 'AAAA' | 'MX' | '*', Behaviour>>>;
  /** Negative TTL (SOA minimum) for NXDOMAIN/NODATA answers. */
  negativeTtl?: number;
  /** Delay before a 'slow' name is answered (default 2000 ms). */
  slowMs?: number;
}

const TYPES: Record<number, 'A' | 'AAAA' | 'MX' | 'CNAME' | 'PTR' | 'TXT' | 'TLSA' | 'OTHER'> = {
  1: 'A',
  28: 'AAAA',
  15: 'MX',
  5: 'CNAME',
  12: 'PTR',
  16: 'TXT',
  52: 'TLSA',
};

export interface DnsFixture {
  readonly server: DnsServer;
  readonly spec: string;
  zone: Zone;
  /** Queries seen, as "name TYPE" (UDP and TCP alike). */
  readonly queries: string[];
  count(name: string, type?: string): number;
  close(): Promise<void>;
}

function toResource(name: string, r: FixtureRecord): Record<string, unknown> {
  const base = { name, ttl: r.ttl ?? 300, class: Packet.CLASS.IN };
  switch (r.type) {
    case 'A':
      return { ...base, type: Packet.TYPE.A, address: r.address };
    case 'AAAA':
      return { ...base, type: Packet.TYPE.AAAA, address: r.address };
    case 'MX':
      return { ...base, type: Packet.TYPE.MX, exchange: r.exchange, priority: r.priority };
    case 'CNAME':
      return { ...base, type: Packet.TYPE.CNAME, domain: r.target };
    case 'PTR':
      return { ...base, type: Packet.TYPE.PTR, domain: r.target };
    case 'TXT':
      return { ...base, type: Packet.TYPE.TXT, data: r.text };
  }
}

function soa(zone: Zone, name: string): Record<string, unknown> {
  const apex = name.split('.').slice(-2).join('.');
  const ttl = zone.negativeTtl ?? 60;
  return {
    name: apex,
    type: Packet.TYPE.SOA,
    class: Packet.CLASS.IN,
    ttl,
    primary: `ns.${apex}`,
    admin: `hostmaster.${apex}`,
    serial: 1,
    refresh: 3600,
    retry: 600,
    expiration: 86400,
    minimum: ttl,
  };
}

/** A response of A records for the question, every owner name a pointer to the question's (16 bytes each). */
export function encodeAAnswer(id: number, name: string, addresses: readonly string[]): Buffer {
  const labels = name.split('.').filter(Boolean);
  const qname = Buffer.concat([...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'ascii')])), Buffer.from([0])]);
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x8180, 2); // QR, RD, RA, NOERROR
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(addresses.length, 6);
  const question = Buffer.concat([qname, Buffer.from([0, 1, 0, 1])]);
  const answers = addresses.map((address) => {
    const rr = Buffer.alloc(16);
    rr.writeUInt16BE(0xc00c, 0); // pointer to the question name
    rr.writeUInt16BE(1, 2);
    rr.writeUInt16BE(1, 4);
    rr.writeUInt32BE(300, 6);
    rr.writeUInt16BE(4, 10);
    address.split('.').forEach((octet, i) => rr.writeUInt8(Number(octet), 12 + i));
    return rr;
  });
  return Buffer.concat([header, question, ...answers]);
}

type Bound = { servers: { udp: import('node:dgram').Socket; tcp: import('node:net').Server } };

/**
 * UDP first, then TCP on the same port (dns2's listen() would pick two different ports). The port UDP got
 * may be busy for TCP, or — seen in a gVisor sandbox — a port whose earlier connections linger in
 * TIME-WAIT, where listen() neither succeeds nor fails: then both are closed and another port is tried.
 */
async function bindUdpAndTcp(handle: unknown, host: string, port: number | undefined): Promise<Bound> {
  for (let attempt = 1; ; attempt++) {
    const server = createServer({ udp: true, tcp: true, handle: handle as never });
    // dns2 re-emits its sockets' errors on the server: handled below, per socket, not as uncaught events.
    server.on('error', () => undefined);
    const bound = server as unknown as Bound;
    const { udp, tcp } = bound.servers;
    try {
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(port ?? 0, host, resolve);
      });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`TCP listen on ${host}:${udp.address().port} did not complete`)), 2000);
        tcp.once('error', (err) => (clearTimeout(timer), reject(err)));
        tcp.listen(udp.address().port, host, () => (clearTimeout(timer), resolve()));
      });
      return bound;
    } catch (err) {
      udp.close();
      tcp.close();
      if (port !== undefined || attempt >= 5) throw err;
    }
  }
}

/** `at`: where to listen (default 127.0.0.1, a random port); a resolv.conf needs port 53. */
export async function startDnsFixture(zone: Zone, at: { host?: string; port?: number } = {}): Promise<DnsFixture> {
  const host = at.host ?? '127.0.0.1';
  const queries: string[] = [];
  const state = { zone, closed: false };
  const tcpClients = new Set<Socket>();
  const handle = (request: { questions: Array<{ name: string; type: number }> }, send: (r: never) => void, client: unknown): void => {
    const overTcp = client instanceof Socket;
    const response = Packet.createResponseFromRequest(request as never) as unknown as {
      header: { rcode: number; ra: number; tc: number };
      answers: unknown[];
      authorities: unknown[];
    };
    response.header.ra = 1;
    const q = request.questions[0];
    const qname = q.name.toLowerCase().replace(/\.$/, '');
    const qtype = TYPES[q.type] ?? 'OTHER';
    queries.push(`${qname} ${qtype}`);
    const z = state.zone;
    const slow = Object.entries(z.behaviours?.[qname] ?? {}).some(([t, b]) => b === 'slow' && (t === '*' || t === qtype));
    const reply = slow ? (r: never) => void setTimeout(() => state.closed || send(r), z.slowMs ?? 2000).unref() : send;
    // Follow CNAMEs like a recursive resolver, answering with the whole chain.
    let name = qname;
    for (let hops = 0; hops < 30; hops++) {
      const behaviour = z.behaviours?.[name]?.[qtype as 'A'] ?? z.behaviours?.[name]?.['*'];
      if (behaviour === 'silent') return;
      if (behaviour === 'tc-silent-tcp' || behaviour === 'oversized') {
        if (overTcp && behaviour === 'tc-silent-tcp') return;
        if (overTcp) {
          const addresses = (z.records[name] ?? []).flatMap((r) => (r.type === 'A' ? [r.address] : []));
          return reply(encodeAAnswer((request as unknown as { header: { id: number } }).header.id, name, addresses) as never);
        }
        response.header.tc = 1;
        return reply(response as never);
      }
      if (behaviour === 'servfail' || behaviour === 'refused') {
        response.header.rcode = behaviour === 'servfail' ? RCODE.SERVFAIL : RCODE.REFUSED;
        response.answers = [];
        return reply(response as never);
      }
      const records = behaviour === 'nxdomain' ? undefined : z.records[name];
      if (!records) {
        response.header.rcode = RCODE.NXDOMAIN;
        response.authorities.push(soa(z, name));
        return reply(response as never);
      }
      const cname = records.find((r) => r.type === 'CNAME');
      if (cname && qtype !== 'CNAME' && cname.type === 'CNAME') {
        response.answers.push(toResource(name, cname));
        name = cname.target;
        continue;
      }
      const matching = records.filter((r) => r.type === qtype);
      for (const r of matching) response.answers.push(toResource(name, r));
      if (matching.length === 0) response.authorities.push(soa(z, name));
      return reply(response as never);
    }
    response.header.rcode = RCODE.SERVFAIL;
    reply(response as never);
  };
  const servers = await bindUdpAndTcp(handle, host, at.port);
  const port = servers.servers.udp.address().port;
  servers.servers.udp.setRecvBufferSize(4 << 20);
  servers.servers.tcp.on('connection', (socket: Socket) => {
    tcpClients.add(socket);
    socket.on('close', () => tcpClients.delete(socket));
  });
  const fixture: DnsFixture = {
    server: { host, port, family: 4 },
    spec: `${host}:${port}`,
    get zone() {
      return state.zone;
    },
    set zone(z: Zone) {
      state.zone = z;
    },
    queries,
    count: (name, type) => queries.filter((q) => (type ? q === `${name} ${type}` : q.startsWith(`${name} `))).length,
    close: () =>
      new Promise<void>((resolve) => {
        state.closed = true;
        for (const socket of tcpClients) socket.destroy();
        servers.servers.udp.close();
        servers.servers.tcp.close(() => resolve());
      }),
  };
  return fixture;
}
