/**
 * Netstring codec (`LEN:BYTES,`), as spoken by sendmail's socket map and Postfix's socketmap tables.
 *
 * Our own decoder instead of a package: netstring-stream keeps no state between chunks (a request split
 * across TCP reads is lost or truncated), never checks the trailing comma and has no length cap; the other
 * npm decoders either buffer without bound or accept a missing comma. This one is a byte-level state machine
 * that enforces the cap while the length digits arrive, so no payload is ever buffered past it.
 *
 * A server may also ask it to read *past* frames longer than the cap, up to a second, hard limit: their bytes
 * are counted and dropped, never stored, and the frame is delivered as `oversized` so it can be answered
 * (fail open) instead of ending the connection.
 */

export type NetstringFault = 'bad-length' | 'leading-zero' | 'too-long' | 'missing-comma';

export class NetstringError extends Error {
  constructor(
    readonly fault: NetstringFault,
    message: string,
  ) {
    super(message);
    this.name = 'NetstringError';
  }
}

const COLON = 0x3a;
const COMMA = 0x2c;
const ZERO = 0x30;
const NINE = 0x39;

/** Bytes a person at netcat types between requests; skipped at frame boundaries only. */
function isSeparatorWhitespace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

const enum State {
  Between, // before the first digit of a frame
  Length,
  Payload,
  Skip, // inside an oversized payload: bytes dropped
  Comma,
}

/** sendmail's own cap on a socket map netstring (SOCKETMAP_MAXL). */
export const SOCKETMAP_MAX_LENGTH = 1_000_000;

const EMPTY = Buffer.alloc(0);

/** Receives each complete frame; `oversized` frames (longer than the cap, when skipping) have an empty payload. */
// biome-ignore lint/suspicious/noConfusingVoidType: a handler that returns nothing (most do) keeps reading
export type FrameHandler = (payload: Buffer, oversized: boolean) => boolean | void;

export class NetstringDecoder {
  private state = State.Between;
  private length = 0;
  private digits = 0;
  private payload: Buffer | undefined;
  private filled = 0;
  private failure: NetstringError | undefined;
  private delivered = 0;
  private oversized = false;
  private readonly limit: number;

  /** `skipUpTo`: frames longer than `maxLength` but not than this are read past and delivered as oversized. */
  constructor(
    readonly maxLength: number,
    options: { readonly skipUpTo?: number } = {},
  ) {
    if (!Number.isSafeInteger(maxLength) || maxLength < 0) throw new RangeError('maxLength must be a non-negative integer');
    this.limit = Math.max(maxLength, options.skipUpTo ?? maxLength);
  }

  /** Complete frames delivered so far; lets a caller tell one partial frame from the next. */
  get frames(): number {
    return this.delivered;
  }

  /** True while a frame has started arriving and is not complete (drives the request timer). */
  get midFrame(): boolean {
    return this.state !== State.Between;
  }

  /**
   * Feeds one chunk and calls `onFrame` for every complete payload, in order. `onFrame` may return false to
   * stop after that frame (the caller's work queue is full); `push` then returns how many bytes it consumed,
   * and the caller feeds the rest later. Throws NetstringError at the first malformed byte (after delivering
   * the frames before it); the decoder is then dead and throws again on use. Payloads that lie wholly inside
   * `chunk` are views into it; the caller must consume them before the chunk is reused (socket chunks never are).
   */
  push(chunk: Buffer, onFrame: FrameHandler): number {
    if (this.failure) throw this.failure;
    let i = 0;
    const end = chunk.length;
    while (i < end) {
      switch (this.state) {
        case State.Between: {
          const byte = chunk[i];
          if (isSeparatorWhitespace(byte)) {
            i++;
            break;
          }
          this.state = State.Length;
          this.length = 0;
          this.digits = 0;
          break;
        }
        case State.Length: {
          const byte = chunk[i++];
          if (byte === COLON) {
            if (this.digits === 0) this.fail('bad-length', 'netstring length is empty');
            if (this.length > this.maxLength) {
              this.oversized = true;
              this.filled = 0;
              this.state = State.Skip;
              break;
            }
            // Fast path: the whole payload and its comma are in this chunk, so hand out a view.
            if (end - i > this.length) {
              if (chunk[i + this.length] !== COMMA) this.missingComma();
              const view = chunk.subarray(i, i + this.length);
              i += this.length + 1;
              this.state = State.Between;
              this.delivered++;
              if (onFrame(view, false) === false) return i;
            } else {
              this.payload = Buffer.allocUnsafe(this.length);
              this.filled = 0;
              this.state = this.length === 0 ? State.Comma : State.Payload;
            }
            break;
          }
          if (byte < ZERO || byte > NINE) {
            this.fail('bad-length', `netstring length has a non-digit byte 0x${byte.toString(16).padStart(2, '0')}`);
          }
          if (this.digits === 1 && this.length === 0) this.fail('leading-zero', 'netstring length has a leading zero');
          this.length = this.length * 10 + (byte - ZERO);
          this.digits++;
          if (this.length > this.limit) {
            this.fail('too-long', `netstring length exceeds the limit of ${this.limit} bytes`);
          }
          break;
        }
        case State.Payload: {
          const payload = this.payload as Buffer;
          const take = Math.min(end - i, this.length - this.filled);
          chunk.copy(payload, this.filled, i, i + take);
          this.filled += take;
          i += take;
          if (this.filled === this.length) this.state = State.Comma;
          break;
        }
        case State.Skip: {
          const take = Math.min(end - i, this.length - this.filled);
          this.filled += take;
          i += take;
          if (this.filled === this.length) this.state = State.Comma;
          break;
        }
        case State.Comma: {
          if (chunk[i++] !== COMMA) this.missingComma();
          const oversized = this.oversized;
          const payload = oversized ? EMPTY : (this.payload as Buffer);
          this.payload = undefined;
          this.oversized = false;
          this.state = State.Between;
          this.delivered++;
          if (onFrame(payload, oversized) === false) return i;
          break;
        }
      }
    }
    return end;
  }

  private missingComma(): never {
    this.fail('missing-comma', `netstring of ${this.length} bytes is not followed by ','`);
  }

  private fail(fault: NetstringFault, message: string): never {
    this.payload = undefined;
    this.failure = new NetstringError(fault, message);
    throw this.failure;
  }
}

/** Encodes one netstring. The length is the byte length, never the string length. */
export function encodeNetstring(payload: string | Buffer): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const head = `${body.length}:`;
  const out = Buffer.allocUnsafe(head.length + body.length + 1);
  out.write(head, 0, 'latin1');
  body.copy(out, head.length);
  out[out.length - 1] = COMMA;
  return out;
}
