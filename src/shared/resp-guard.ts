/**
 * A bound on what a Redis peer may send us. The Redis client parses replies itself, and a peer (a
 * compromised Redis, anyone on the path of plaintext redis://, a local user on the port while Redis
 * restarts) chooses their size: measured against ioredis, a 300,000-element array stalled the event loop
 * 17 s, an endless simple string grew memory by 4 GB, a `$2000000000` header reserved 3.8 GB. This scanner
 * sees the same bytes first (a prepended 'data' listener), walks the RESP2 framing without keeping any of
 * it, and names the first limit a reply breaks, so the connection is dropped before the client parses it.
 * Linear in the bytes seen; holds a few numbers of state. Pure.
 */

export interface RespLimits {
  /** Longest simple string, error or integer line (without CRLF). */
  readonly maxLineBytes: number;
  /** Longest bulk string. */
  readonly maxBulkBytes: number;
  /** Most elements in one reply, nested arrays counted whole. */
  readonly maxElements: number;
  /** Deepest nesting of arrays. */
  readonly maxDepth: number;
  /** Most bytes in one reply. */
  readonly maxReplyBytes: number;
}

/** Far above anything mx4map reads (values of a few KB, replies of one element) and below harm. */
export const RESP_LIMITS: RespLimits = { maxLineBytes: 64 * 1024, maxBulkBytes: 256 * 1024, maxElements: 64, maxDepth: 4, maxReplyBytes: 512 * 1024 };

const CR = 13;
const LF = 10;

export class RespGuard {
  /** What the next byte starts: a type byte, the rest of a header or line, or bulk payload. */
  private mode: 'type' | 'line' | 'bulk' = 'type';
  private type = 0;
  private line: number[] = [];
  private lineBytes = 0;
  private bulkLeft = 0;
  /** Elements still expected at each open array level. */
  private readonly open: number[] = [];
  private elements = 0;
  private replyBytes = 0;
  private broken: string | undefined;

  constructor(private readonly limits: RespLimits = RESP_LIMITS) {}

  /** Scans a chunk; returns the limit broken (and stays broken), or undefined. */
  push(chunk: Uint8Array): string | undefined {
    if (this.broken) return this.broken;
    for (let i = 0; i < chunk.length; i++) {
      this.replyBytes++;
      if (this.replyBytes > this.limits.maxReplyBytes) return this.fail(`a reply over ${this.limits.maxReplyBytes} bytes`);
      const byte = chunk[i];
      switch (this.mode) {
        case 'bulk': {
          // Payload and its CRLF, skipped in one step.
          const take = Math.min(this.bulkLeft, chunk.length - i);
          this.bulkLeft -= take;
          this.replyBytes += take - 1;
          if (this.replyBytes > this.limits.maxReplyBytes) return this.fail(`a reply over ${this.limits.maxReplyBytes} bytes`);
          i += take - 1;
          if (this.bulkLeft === 0) {
            this.mode = 'type';
            this.endElement();
          }
          break;
        }
        case 'type':
          if (!'+-:$*'.includes(String.fromCharCode(byte))) return this.fail(`a byte that starts no RESP2 reply (0x${byte.toString(16)})`);
          this.type = byte;
          this.mode = 'line';
          this.line = [];
          this.lineBytes = 0;
          break;
        case 'line': {
          if (byte === LF && this.line[this.line.length - 1] === CR) {
            const problem = this.endLine(String.fromCharCode(...this.line.slice(0, -1)));
            if (problem) return this.fail(problem);
            break;
          }
          this.lineBytes++;
          if (this.lineBytes > this.limits.maxLineBytes + 1) return this.fail(`a line over ${this.limits.maxLineBytes} bytes`);
          // Only headers are kept (to read their number); a simple string's text is counted, not kept.
          if (this.type === 0x24 || this.type === 0x2a) {
            if (this.line.length > 24) return this.fail('a length header that is not a number');
            this.line.push(byte);
          } else {
            this.line = byte === CR ? [CR] : [];
          }
          break;
        }
      }
    }
    return undefined;
  }

  private endLine(text: string): string | undefined {
    this.mode = 'type';
    if (this.type !== 0x24 && this.type !== 0x2a) {
      this.endElement();
      return undefined;
    }
    if (!/^(-1|0|[1-9]\d{0,15})$/.test(text)) return 'a length header that is not a number';
    const n = Number(text);
    if (this.type === 0x24) {
      if (n > this.limits.maxBulkBytes) return `a bulk string of ${n} bytes (at most ${this.limits.maxBulkBytes})`;
      if (n < 0) {
        this.endElement();
        return undefined;
      }
      this.mode = 'bulk';
      this.bulkLeft = n + 2;
      return undefined;
    }
    if (n <= 0) {
      this.endElement();
      return undefined;
    }
    this.elements += n;
    if (this.elements > this.limits.maxElements) return `an array of ${n} elements (at most ${this.limits.maxElements} in a reply)`;
    if (this.open.length >= this.limits.maxDepth) return `arrays nested over ${this.limits.maxDepth} deep`;
    this.open.push(n);
    return undefined;
  }

  /** One element done: closes the arrays it completes; a whole reply resets the per-reply counts. */
  private endElement(): void {
    while (this.open.length > 0) {
      const last = this.open.length - 1;
      this.open[last]--;
      if (this.open[last] > 0) return;
      this.open.pop();
    }
    this.elements = 0;
    this.replyBytes = 0;
  }

  private fail(problem: string): string {
    this.broken = problem;
    return problem;
  }
}
