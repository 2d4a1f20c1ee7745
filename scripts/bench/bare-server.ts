/**
 * The baselines: a bare Node netstring server that parses each request and answers NOTFOUND, nothing else;
 * mx4map's cache-hit throughput is reported as a fraction of this one's. With `--cold HOST:PORT` it is the
 * cold path's floor: before answering it sends the DNS queries a cold decision of the bench needs (the
 * domain's MX, and for every second request the `_mta-sts` TXT a forced domain needs) through node's own
 * resolver (c-ares), decides nothing and answers NOTFOUND. No server that asks those queries can cost less.
 */
import { Resolver } from 'node:dns/promises';
import { createServer } from 'node:net';
import { NetstringDecoder } from '../../src/protocol/netstring.js';

const NOTFOUND = Buffer.from('9:NOTFOUND ,');
const coldAt = process.argv.indexOf('--cold');
const resolver = coldAt > 0 ? new Resolver({ timeout: 2000, tries: 1 }) : undefined;
resolver?.setServers([process.argv[coldAt + 1]]);
let asked = 0;

/** The cold floor's work for one request: the same queries mx4map sends for a domain of the bench's zone. */
async function askLikeAColdDecision(dns: Resolver, domain: string): Promise<void> {
  await dns.resolveMx(domain).catch(() => undefined);
  if (asked++ % 2 === 0) await dns.resolveTxt(`_mta-sts.${domain}`).catch(() => undefined);
}

const server = createServer((socket) => {
  const decoder = new NetstringDecoder(10_000);
  socket.setNoDelay(true);
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk: Buffer) => {
    try {
      decoder.push(chunk, (payload) => {
        const space = payload.indexOf(0x20);
        if (space <= 0) return;
        if (!resolver) socket.write(NOTFOUND);
        else void askLikeAColdDecision(resolver, payload.subarray(space + 1).toString('latin1')).then(() => socket.write(NOTFOUND));
      });
    } catch {
      socket.destroy();
    }
  });
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ port: (server.address() as { port: number }).port })}\n`));
process.on('SIGTERM', () => process.exit(0));
