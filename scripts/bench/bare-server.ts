/**
 * The baseline: a bare Node netstring server that parses each request and answers NOTFOUND, nothing else.
 * mx4map's cache-hit throughput is reported as a fraction of this one's.
 */
import { createServer } from 'node:net';
import { NetstringDecoder } from '../../src/protocol/netstring.js';

const NOTFOUND = Buffer.from('9:NOTFOUND ,');
const server = createServer((socket) => {
  const decoder = new NetstringDecoder(10_000);
  socket.setNoDelay(true);
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk: Buffer) => {
    try {
      decoder.push(chunk, (payload) => {
        if (payload.indexOf(0x20) > 0) socket.write(NOTFOUND);
      });
    } catch {
      socket.destroy();
    }
  });
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ port: (server.address() as { port: number }).port })}\n`));
process.on('SIGTERM', () => process.exit(0));
