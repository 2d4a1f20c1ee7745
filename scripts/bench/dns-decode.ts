/**
 * The cost of hostile DNS packets on the event loop: our decoder against dns2's parser (which mx4map used
 * before), on a reply whose header lies about its record counts and on a legal 4,000-record answer.
 * Figures for the README; part of `npm run bench`.
 */
import { Packet } from 'dns2';
import { decodeResponse } from '../../src/dns/message.js';
import { A, header, question, response } from '../../test/support/dns-packets.js';

function timeMs(run: () => void, rounds: number): number {
  const started = performance.now();
  for (let i = 0; i < rounds; i++) {
    try {
      run();
    } catch {
      // a refused packet is the point
    }
  }
  return (performance.now() - started) / rounds;
}

export function dnsDecodeFigures(): string[] {
  const lying = Buffer.concat([header(1, [1, 65535, 65535, 65535]), question('mx.example', 1), Buffer.alloc(70)]);
  const legal = response(
    1,
    'mx.example',
    1,
    Array.from({ length: 4000 }, (_, i) => A(`10.0.${i >> 8}.${i & 255}`)),
  );
  const ours = [timeMs(() => decodeResponse(lying), 2000), timeMs(() => decodeResponse(legal), 200)];
  const theirs = [timeMs(() => Packet.parse(lying), 2), timeMs(() => Packet.parse(legal), 5)];
  const f = (ms: number): string => (ms < 0.1 ? `${(ms * 1000).toFixed(1)} µs` : `${ms.toFixed(ms < 10 ? 2 : 0)} ms`);
  return [
    `dns decode: a reply claiming 196,605 records in 98 bytes: ${f(ours[0])} (dns2's parser: ${f(theirs[0])}); a legal 4,000-record answer: ${f(ours[1])} (dns2: ${f(theirs[1])})`,
  ];
}
