/**
 * The socketmap layer above netstrings: `<mapname> <key>` requests and the five reply kinds.
 * Pure: no sockets, shared by the server and the `query`/`replay` clients.
 */
import { encodeNetstring } from './netstring.js';

export interface SocketmapRequest {
  readonly map: string;
  /** Raw key bytes: sendmail sends whatever the address held, UTF-8 or not. */
  readonly key: Buffer;
}

export type ReplyStatus = 'OK' | 'NOTFOUND' | 'TEMP' | 'TIMEOUT' | 'PERM';

export type Reply =
  | { readonly status: 'OK'; readonly value: string }
  | { readonly status: 'NOTFOUND' }
  | { readonly status: 'TEMP' | 'TIMEOUT' | 'PERM'; readonly reason: string };

const SPACE = 0x20;

/** Splits a request payload at its first space; `undefined` when there is none (no map name). */
export function parseRequest(payload: Buffer): SocketmapRequest | undefined {
  const space = payload.indexOf(SPACE);
  if (space <= 0) return undefined;
  return { map: payload.toString('latin1', 0, space), key: payload.subarray(space + 1) };
}

export function encodeRequest(map: string, key: string): Buffer {
  return encodeNetstring(`${map} ${key}`);
}

/**
 * Builds a reply payload. An OK value must be non-empty: a bare `OK` crashes sendmail (strlen(NULL)) and an
 * empty `OK ` is an error to Postfix, so both are refused here, where every reply passes.
 */
export function replyPayload(reply: Reply): string {
  switch (reply.status) {
    case 'OK':
      if (reply.value.length === 0) throw new Error('an OK reply needs a non-empty value');
      return `OK ${reply.value}`;
    case 'NOTFOUND':
      return 'NOTFOUND ';
    default:
      return `${reply.status} ${printable(reply.reason)}`;
  }
}

export function encodeReply(reply: Reply): Buffer {
  return encodeNetstring(replyPayload(reply));
}

/** The one NOTFOUND reply, encoded once: it is by far the most frequent answer. */
export const NOTFOUND_REPLY: Buffer = encodeReply({ status: 'NOTFOUND' });

/** Parses a reply payload as a client sees it (used by `query` and `replay`). */
export function parseReply(payload: Buffer): Reply | undefined {
  const text = payload.toString('utf8');
  const space = text.indexOf(' ');
  const status = space < 0 ? text : text.slice(0, space);
  const rest = space < 0 ? '' : text.slice(space + 1);
  switch (status) {
    case 'OK':
      return space < 0 || rest.length === 0 ? undefined : { status, value: rest };
    case 'NOTFOUND':
      return { status };
    case 'TEMP':
    case 'TIMEOUT':
    case 'PERM':
      return { status, reason: rest };
    default:
      return undefined;
  }
}

/**
 * Makes client-supplied text safe to echo in a reason: printable ASCII only, bounded length.
 * (A reason is free text to both MTAs, but a person reads it at netcat and in logs.)
 */
export function printable(text: string, max = 200): string {
  let out = '';
  for (const ch of text) {
    const code = ch.codePointAt(0) as number;
    if (code >= 0x20 && code < 0x7f) out += ch;
    else out += code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
    if (out.length >= max) return `${out.slice(0, max)}...`;
  }
  return out;
}
