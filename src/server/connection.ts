/**
 * One client connection: decodes netstrings, runs requests concurrently up to a bound, and writes exactly
 * one complete reply per request, in request order. Knows nothing of maps or DNS: `answer` does that.
 */
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { NetstringDecoder, NetstringError, SOCKETMAP_MAX_LENGTH } from '../protocol/netstring.js';
import { encodeReply, NOTFOUND_REPLY } from '../protocol/socketmap.js';
import { showMs } from '../config/values.js';

export interface ConnectionLimits {
  readonly maxInFlight: number;
  readonly maxRequestBytes: number;
  readonly requestTimeout: number;
  readonly idleTimeout: number;
}

/** Turns one request payload into one encoded reply netstring. May be synchronous (cache hits) or not. */
export type Answer = (payload: Buffer, log: Logger) => Buffer | Promise<Buffer>;

export interface ConnectionEvents {
  /** A framing error, a timed-out request: the connection is being closed. */
  onProtocolError?(kind: string): void;
}

/** Time a closing connection gets to take its last replies before it is destroyed. */
const LINGER_MS = 2000;

interface Slot {
  reply: Buffer | undefined;
  /** The connection ends once this reply is written (protocol errors). */
  readonly last?: boolean;
}

export type ConnectionState = 'open' | 'draining' | 'closed';

export class Connection {
  private readonly decoder: NetstringDecoder;
  private readonly slots: Slot[] = [];
  private backlog: Buffer | undefined;
  private state: ConnectionState = 'open';
  private readEnded = false;
  private waitingForDrain = false;
  private requestTimer: NodeJS.Timeout | undefined;
  private timedFrame = -1;
  private lingerTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly socket: Socket,
    private readonly answer: Answer,
    private readonly limits: () => ConnectionLimits,
    private readonly log: Logger,
    private readonly events: ConnectionEvents = {},
  ) {
    // Requests over the cap are read past (never stored) and answered NOTFOUND: no key that long is a domain.
    this.decoder = new NetstringDecoder(limits().maxRequestBytes, { skipUpTo: SOCKETMAP_MAX_LENGTH });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.onEnd());
    socket.on('drain', () => this.onDrain());
    socket.on('error', (err: NodeJS.ErrnoException) => this.log.debug({ evt: 'socket-error', code: err.code }, 'socket error'));
    socket.on('close', () => this.onClose());
    socket.on('timeout', () => this.onIdle());
    const idle = limits().idleTimeout;
    if (idle > 0) socket.setTimeout(idle);
  }

  /** Stop taking requests, answer those in flight, then close (shutdown). */
  drain(): void {
    if (this.state !== 'open') return;
    this.state = 'draining';
    this.backlog = undefined;
    this.socket.pause();
    this.clearRequestTimer();
    this.endIfDone();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    if (this.state !== 'open') return;
    if (this.backlog) {
      // A chunk already on its way when reading paused: queue it behind the unread bytes.
      this.backlog = Buffer.concat([this.backlog, chunk]);
      this.updateFlow();
      return;
    }
    this.consume(chunk);
    this.flush();
    this.updateFlow();
  }

  /** Feeds bytes to the decoder until they are used up or the in-flight bound is reached. */
  private consume(chunk: Buffer): void {
    const max = this.limits().maxInFlight;
    let used: number;
    try {
      used = this.decoder.push(chunk, (payload, oversized) => {
        if (oversized) this.answerOversized();
        else this.start(payload);
        return this.slots.length < max;
      });
    } catch (err) {
      if (!(err instanceof NetstringError)) throw err;
      this.protocolError(err.fault, `malformed netstring: ${err.message}`);
      return;
    }
    this.backlog = used < chunk.length ? chunk.subarray(used) : undefined;
    if (!this.readEnded) this.armRequestTimer();
  }

  private start(payload: Buffer): void {
    const slot: Slot = { reply: undefined };
    this.slots.push(slot);
    let result: Buffer | Promise<Buffer>;
    try {
      result = this.answer(payload, this.log);
    } catch (err) {
      result = this.failOpen(err);
    }
    if (Buffer.isBuffer(result)) {
      slot.reply = result;
      return;
    }
    result.then(
      (reply) => this.complete(slot, reply),
      (err: unknown) => this.complete(slot, this.failOpen(err)),
    );
  }

  private answerOversized(): void {
    this.log.warn({ evt: 'oversized-request', maxRequestBytes: this.decoder.maxLength }, 'request longer than max_request_bytes; skipped and answered NOTFOUND');
    this.slots.push({ reply: NOTFOUND_REPLY });
  }

  /** A request whose handling threw gets NOTFOUND: mail then flows as it would without us. */
  private failOpen(err: unknown): Buffer {
    this.log.error({ evt: 'answer-failed', err }, 'request handling failed; answered NOTFOUND');
    return NOTFOUND_REPLY;
  }

  private complete(slot: Slot, reply: Buffer): void {
    slot.reply = reply;
    if (this.state === 'closed') return; // the client left; the work itself has finished (and cached)
    this.flush();
    this.updateFlow();
  }

  /** Writes every ready reply at the head of the queue; several at once go out as one batch (cork). */
  private flush(): void {
    if (this.state === 'closed' || this.slots.length === 0 || this.slots[0].reply === undefined) return;
    const socket = this.socket;
    // The common case (sendmail: one request in flight) is a single reply: a plain write, no cork.
    const batch = this.slots.length > 1 && this.slots[1].reply !== undefined;
    if (batch) socket.cork();
    let last = false;
    while (this.slots.length > 0 && this.slots[0].reply !== undefined) {
      const slot = this.slots.shift() as Slot;
      socket.write(slot.reply as Buffer);
      if (slot.last) {
        last = true;
        this.slots.length = 0;
      }
    }
    if (batch) socket.uncork();
    if (last) this.closeAfterWrite();
    else this.endIfDone();
  }

  /**
   * Works through unread requests while there is room (in-flight bound, client taking its replies), then
   * reads again or stays paused. Loops because answers from the cache are synchronous: no later event would
   * come to pick up the rest. Runs after a half-close too, so every request the client sent is answered.
   */
  private updateFlow(): void {
    const max = this.limits().maxInFlight;
    while (this.backlog && this.state !== 'closed') {
      if (this.socket.writableNeedDrain) this.waitingForDrain = true;
      if (this.waitingForDrain || this.slots.length >= max) break;
      const rest = this.backlog;
      this.backlog = undefined;
      this.consume(rest);
      this.flush();
    }
    if (this.state !== 'open') return;
    if (this.socket.writableNeedDrain) this.waitingForDrain = true;
    if (this.waitingForDrain || this.backlog || this.slots.length >= max) this.socket.pause();
    else if (!this.readEnded) this.socket.resume();
  }

  private onDrain(): void {
    this.waitingForDrain = false;
    this.updateFlow();
  }

  private onEnd(): void {
    // The client half-closed (e.g. `printf … | nc -N`): answer what it sent, then close our side.
    this.readEnded = true;
    if (this.decoder.midFrame) this.log.debug({ evt: 'truncated-request' }, 'client closed in the middle of a request');
    this.clearRequestTimer();
    if (this.state === 'open') this.state = 'draining';
    this.updateFlow();
    this.endIfDone();
  }

  private endIfDone(): void {
    if (this.state === 'draining' && this.slots.length === 0 && !this.backlog) this.closeAfterWrite();
  }

  private closeAfterWrite(): void {
    if (this.lingerTimer) return;
    this.state = 'draining';
    this.socket.pause();
    this.clearRequestTimer();
    this.socket.end();
    // A peer that neither reads nor closes must not hold the socket forever.
    this.lingerTimer = setTimeout(() => this.socket.destroy(), LINGER_MS);
    this.lingerTimer.unref();
  }

  /** One complete PERM reply after the replies already owed, then close: never a partial reply. */
  private protocolError(kind: string, reason: string): void {
    this.log.warn({ evt: 'protocol-error', kind, reason }, 'protocol error; closing connection');
    this.events.onProtocolError?.(kind);
    this.state = 'draining';
    this.backlog = undefined;
    this.socket.pause();
    this.clearRequestTimer();
    this.slots.push({ reply: encodeReply({ status: 'PERM', reason }), last: true });
    this.flush();
  }

  /** Starts the timer when a request begins arriving; a slow-drip client gets closed, an idle one does not. */
  private armRequestTimer(): void {
    if (!this.decoder.midFrame) {
      this.clearRequestTimer();
      return;
    }
    if (this.requestTimer && this.timedFrame === this.decoder.frames) return;
    this.clearRequestTimer();
    this.timedFrame = this.decoder.frames;
    const ms = this.limits().requestTimeout;
    this.requestTimer = setTimeout(() => {
      this.requestTimer = undefined;
      this.protocolError('request-timeout', `request not completed within ${showMs(ms)}`);
    }, ms);
    this.requestTimer.unref();
  }

  private clearRequestTimer(): void {
    if (this.requestTimer) clearTimeout(this.requestTimer);
    this.requestTimer = undefined;
  }

  private onIdle(): void {
    if (this.state === 'open' && this.slots.length === 0 && !this.decoder.midFrame) {
      this.log.debug({ evt: 'idle-close' }, 'closing idle connection');
      this.drain();
    }
  }

  private onClose(): void {
    this.state = 'closed';
    this.backlog = undefined;
    this.clearRequestTimer();
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    this.lingerTimer = undefined;
  }
}
