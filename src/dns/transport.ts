/**
 * One DNS exchange with one server over TCP (after a truncated UDP answer; UDP goes through udp-pool.ts),
 * bounded by a timeout. Answers are accepted only with the query's ID and question, checked on the raw
 * bytes before anything is decoded. A response that matches but cannot be decoded is a failure.
 */
import { connect } from 'node:net';
import { type DnsResponse, type Expected, MalformedResponse, decodeResponse, matchesQuery } from './message.js';

export interface DnsServer {
  readonly host: string;
  readonly port: number;
  readonly family: 4 | 6;
}

export type { Expected };

/** Why an exchange failed: named once, counted by these names in /metrics. */
export type ExchangeFault = 'timeout' | 'malformed' | 'network';

export type Exchange = { readonly ok: true; readonly response: DnsResponse } | { readonly ok: false; readonly fault: ExchangeFault; readonly detail: string };

/** The exchange a matched response ends: decoded, or a failure naming what was wrong with it. */
export function decoded(bytes: Buffer, server: DnsServer): Exchange {
  try {
    return { ok: true, response: decodeResponse(bytes) };
  } catch (err) {
    if (err instanceof MalformedResponse) return { ok: false, fault: 'malformed', detail: `malformed response from ${server.host}: ${err.message}` };
    throw err;
  }
}

export function exchangeTcp(server: DnsServer, query: Buffer, expected: Expected, timeoutMs: number): Promise<Exchange> {
  return new Promise((resolve) => {
    const socket = connect({ host: server.host, port: server.port });
    let settled = false;
    let received = Buffer.alloc(0);
    const finish = (result: Exchange): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => finish({ ok: false, fault: 'timeout', detail: `TCP timeout after ${timeoutMs} ms from ${server.host}` }), timeoutMs);
    socket.on('error', (err) => finish({ ok: false, fault: 'network', detail: `TCP ${err.message} (${server.host})` }));
    socket.on('close', () => finish({ ok: false, fault: 'network', detail: `TCP connection closed by ${server.host}` }));
    socket.on('connect', () => {
      const prefix = Buffer.alloc(2);
      prefix.writeUInt16BE(query.length);
      socket.write(Buffer.concat([prefix, query]));
    });
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      while (received.length >= 2) {
        const length = received.readUInt16BE(0);
        if (received.length < 2 + length) break;
        const message = received.subarray(2, 2 + length);
        received = received.subarray(2 + length);
        if (matchesQuery(message, expected)) return finish(decoded(message, server));
      }
      // The two-byte length prefix bounds what is buffered to one message (64 KiB).
    });
  });
}
