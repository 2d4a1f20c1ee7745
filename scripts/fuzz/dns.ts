/**
 * DNS side of the fuzzer: a server in front of the fixture zone that passes its answers on, and answers the
 * fuzzing domains (`fzN.test`) itself with plausible responses mutated at random — flipped bits, replaced
 * and inserted bytes, cut packets, other record counts, wrong IDs, the TC bit, garbage, silence — as a
 * hostile zone or a broken path could. The server under test must answer every lookup of those domains
 * within its deadline, well-formed, and never crash.
 */
import { createSocket } from 'node:dgram';
import { A, AAAA, CNAME, MX, response } from '../../test/support/dns-packets.js';
import { type HostileDns, startHostileDns } from '../../test/support/hostile-dns.js';
import type { ParsedQuery } from '../../test/support/dns-packets.js';
import type { DnsServer } from '../../src/dns/transport.js';
import type { Inputs } from './inputs.js';

export const FUZZ_DOMAINS = 1_000_000;

function plausible(q: ParsedQuery, g: Inputs): Buffer {
  switch (q.type) {
    case 15:
      return response(
        q.id,
        q.name,
        q.type,
        Array.from({ length: 1 + g.int(3) }, (_, i) => MX(10 * (i + 1), `mx${i}.${q.name}`)),
      );
    case 1:
      return response(
        q.id,
        q.name,
        q.type,
        g.int(3) === 0 ? [CNAME(`alias.${q.name}`), A(`192.0.2.${1 + g.int(200)}`)] : [A(`192.0.2.${1 + g.int(200)}`), A(`198.51.100.${1 + g.int(200)}`)],
      );
    default:
      return response(q.id, q.name, q.type, g.int(2) === 0 ? [] : [AAAA('20010db8000000000000000000000001')]);
  }
}

function mutate(packet: Buffer, g: Inputs): Buffer[] {
  const b = Buffer.from(packet);
  const at = g.int(b.length);
  switch (g.int(10)) {
    case 0:
      b[at] ^= 1 << g.int(8);
      return [b];
    case 1:
      b[at] = g.int(256);
      return [b];
    case 2:
      return [Buffer.concat([b.subarray(0, at), g.bytes(16), b.subarray(at)])];
    case 3:
      return [b.subarray(0, at)];
    case 4: // another count in one section
      b.writeUInt16BE(g.int(65536), 4 + 2 * g.int(4));
      return [b];
    case 5: // wrong ID first, then the packet
      return [Buffer.concat([Buffer.from([b[0] ^ 0xff, b[1]]), b.subarray(2)]), b];
    case 6: // truncated: the client asks over TCP, where the same mutations apply
      b[2] |= 0x02;
      return [b];
    case 7:
      return [g.bytes(600)];
    case 8:
      return []; // silence
    default:
      return [b]; // untouched
  }
}

export interface DnsFuzz {
  readonly server: HostileDns;
  readonly mutated: () => number;
  close(): Promise<void>;
}

/** The mutating server, passing every other name on to `upstream` (the fixture zone). */
export async function startDnsFuzz(upstream: DnsServer, g: Inputs): Promise<DnsFuzz> {
  const relay = createSocket('udp4');
  await new Promise<void>((resolve) => relay.bind(0, '127.0.0.1', resolve));
  const waiting = new Map<number, (reply: Buffer) => void>();
  relay.on('message', (msg) => waiting.get(msg.readUInt16BE(0))?.(msg));
  let mutated = 0;
  const server = await startHostileDns(async (q, overTcp, raw) => {
    if (/^(?:[a-z0-9.-]+\.)?fz\d+\.test$/.test(q.name)) {
      mutated++;
      return mutate(plausible(q, g), g);
    }
    if (overTcp) return undefined; // the fixture zone's answers fit in UDP
    return new Promise<Buffer[]>((resolve) => {
      const timer = setTimeout(() => (waiting.delete(q.id), resolve([])), 2000);
      waiting.set(q.id, (reply) => {
        clearTimeout(timer);
        waiting.delete(q.id);
        resolve([reply]);
      });
      relay.send(raw, upstream.port, upstream.host);
    });
  });
  return {
    server,
    mutated: () => mutated,
    async close() {
      relay.close();
      await server.close();
    },
  };
}
