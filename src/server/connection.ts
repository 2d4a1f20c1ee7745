/**
 * One client connection: decodes netstrings, runs requests concurrently up to a bound, and writes exactly
 * one complete reply per request, in request order — and never a reply its client has stopped waiting for.
 * Knows nothing of maps or DNS: `answer` does that.
 *
 * Lifecycle (every change goes through setState, which checks it against TRANSITIONS):
 *   open         reading requests and answering them
 *   half-closed  the client ended its side: what it sent is still answered, then the connection closes
 *   draining     no more requests are taken (shutdown, protocol error, idle timeout): what is owed is
 *                answered, then the connection closes
 *   closing      nothing more is written; the socket is ending and is destroyed if the peer lingers
 *   closed       the socket is gone
 */
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { NetstringDecoder, NetstringError, SOCKETMAP_MAX_LENGTH } from '../protocol/netstring.js';
import { encodeReply, NOTFOUND_REPLY } from '../protocol/socketmap.js';
import { showMs } from '../text/values.js';
import { type LoopClock, plainClock } from './loop-watch.js';

export interface ConnectionLimits {
  readonly maxInFlight: number;
  readonly maxRequestBytes: number;
  readonly requestTimeout: number;
  readonly idleTimeout: number;
  /** No reply leaves for a request older than this; the connection is closed instead. */
  readonly replyMaxAge: number;
}

/** Turns one request payload into one encoded reply netstring. May be synchronous (cache hits) or not. */
export type Answer = (payload: Buffer, log: Logger) => Buffer | Promise<Buffer>;

export interface ConnectionEvents {
  /** A framing error or a timed-out request: the connection is being closed. */
  onProtocolError?(kind: string): void;
  /** A reply came too late to be written: the connection is being closed instead. */
  onStaleReply?(): void;
}

export type ConnectionState = 'open' | 'half-closed' | 'draining' | 'closing' | 'closed';

const TRANSITIONS: Readonly<Record<ConnectionState, readonly ConnectionState[]>> = {
  open: ['half-closed', 'draining', 'closing', 'closed'],
  'half-closed': ['closing', 'closed'],
  draining: ['closing', 'closed'],
  closing: ['closed'],
  closed: [],
};

/** Time a closing connection gets to take its last replies before it is destroyed. */
const LINGER_MS = 2000;

interface Slot {
  reply: Buffer | undefined;
  /** When its first byte may have arrived (LoopClock.arrival): the reply's age counts from here. */
  readonly arrival: number;
  /** The connection ends once this reply is written (protocol errors). */
  readonly last?: boolean;
}

/** Bytes read but not yet decoded, with the arrival time of the oldest of them. */
interface Unread {
  readonly bytes: Buffer;
  readonly arrival: number;
}

export class Connection {
  private state: ConnectionState = 'open';
  private readonly decoder: NetstringDecoder;
  private readonly slots: Slot[] = [];
  private backlog: Unread | undefined;
  /** Arrival of the frame the decoder is in the middle of. */
  private partialArrival = 0;
  private requestTimer: NodeJS.Timeout | undefined;
  private timedFrame = -1;
  private staleTimer: NodeJS.Timeout | undefined;
  private staleFor: Slot | undefined;
  private lingerTimer: NodeJS.Timeout | undefined;
  /** Shutting down: the request being read now is the last one taken. */
  private lastCall = false;
  private lastCallTimer: NodeJS.Timeout | undefined;
  /** Whether the socket was last told to read (the server resumes it once it is handed over). */
  private reading = true;
  /** Clock time of the last request started or last reply written: the server evicts the idle connection with the oldest. */
  lastActive: number;

  constructor(
    private readonly socket: Socket,
    private readonly answer: Answer,
    private readonly limits: () => ConnectionLimits,
    private readonly log: Logger,
    private readonly events: ConnectionEvents = {},
    private readonly clock: LoopClock = plainClock,
  ) {
    // Requests over the cap are read past (never stored) and answered NOTFOUND: no key that long is a domain.
    this.decoder = new NetstringDecoder(limits().maxRequestBytes, { skipUpTo: SOCKETMAP_MAX_LENGTH });
    this.lastActive = clock.now();
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.onEnd());
    socket.on('drain', () => this.pump());
    socket.on('error', (err: NodeJS.ErrnoException) => this.log.debug({ evt: 'socket-error', code: err.code }, 'socket error'));
    socket.on('close', () => this.setState('closed', 'socket closed'));
    socket.on('timeout', () => this.onIdleTimeout());
    const idle = limits().idleTimeout;
    if (idle > 0) socket.setTimeout(idle);
  }

  get current(): ConnectionState {
    return this.state;
  }

  /**
   * Nothing in flight and nothing unread: may be evicted to admit a new connection. Worked out when asked
   * (evictions, metrics) rather than tracked on every request.
   */
  get idle(): boolean {
    return this.state === 'open' && this.slots.length === 0 && !this.backlog && !this.decoder.midFrame;
  }

  /**
   * Shutdown: stop taking requests, answer those in flight, then close. An idle connection gets a last
   * call of `lastCallMs` first: a request it sent just before (already on its way, perhaps already in the
   * kernel's buffer) is still read and answered, instead of being met with EOF.
   */
  drain(lastCallMs = 0): void {
    if (this.state !== 'open') return;
    if (!this.idle || lastCallMs <= 0) {
      this.setState('draining', 'shutdown');
      return;
    }
    this.lastCall = true;
    this.lastCallTimer = setTimeout(() => {
      this.lastCallTimer = undefined;
      if (this.state === 'open') this.setState('draining', 'shutdown, no last request');
    }, lastCallMs).unref();
  }

  /** Closes an idle connection at once to make room for a new one. */
  evict(connections: number): void {
    if (this.state !== 'open') return;
    const idleMs = Math.round(this.clock.now() - this.lastActive);
    this.log.info({ evt: 'connection-evicted', idleMs, connections }, 'connection cap reached; closed this connection, idle longest, to admit a new one');
    this.setState('closing', 'evicted');
    this.socket.destroy();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private setState(next: ConnectionState, why: string): void {
    if (next === this.state) return;
    if (!TRANSITIONS[this.state].includes(next)) throw new Error(`connection: no transition from ${this.state} to ${next} (${why})`);
    this.state = next;
    switch (next) {
      case 'half-closed':
        this.clearRequestTimer();
        break;
      case 'draining':
        this.backlog = undefined;
        this.stopReading();
        this.clearRequestTimer();
        break;
      case 'closing':
        this.backlog = undefined;
        this.stopReading();
        this.clearTimers();
        this.socket.end();
        // A peer that neither reads nor closes must not hold the socket forever.
        this.lingerTimer = setTimeout(() => this.socket.destroy(), LINGER_MS).unref();
        break;
      case 'closed':
        this.backlog = undefined;
        this.clearTimers();
        break;
    }
    if (next === 'half-closed' || next === 'draining') this.closeIfDone();
  }

  private onData(chunk: Buffer): void {
    const arrival = this.clock.arrival(this.clock.now());
    if (this.state !== 'open') return;
    if (this.backlog) {
      // A chunk already on its way when reading paused: queue it behind the unread bytes.
      this.backlog = { bytes: Buffer.concat([this.backlog.bytes, chunk]), arrival: this.backlog.arrival };
    } else {
      this.consume(chunk, arrival);
      this.flush();
    }
    if (this.lastCall && this.state === 'open' && !this.decoder.midFrame) this.setState('draining', 'shutdown, last request read');
    this.pump();
  }

  /** Feeds bytes to the decoder until they are used up or the in-flight bound is reached. */
  private consume(chunk: Buffer, arrival: number): void {
    const max = this.limits().maxInFlight;
    // The first frame completed here began in an earlier chunk when the decoder was mid-frame.
    let frameArrival = this.decoder.midFrame ? this.partialArrival : arrival;
    let used: number;
    try {
      used = this.decoder.push(chunk, (payload, oversized) => {
        if (oversized) this.answerOversized(frameArrival);
        else this.start(payload, frameArrival);
        frameArrival = arrival;
        return this.slots.length < max;
      });
    } catch (err) {
      if (!(err instanceof NetstringError)) throw err;
      this.protocolError(err.fault, `malformed netstring: ${err.message}`);
      return;
    }
    if (this.decoder.midFrame) this.partialArrival = frameArrival;
    this.backlog = used < chunk.length ? { bytes: chunk.subarray(used), arrival } : undefined;
    if (this.state === 'open') this.armRequestTimer();
  }

  private start(payload: Buffer, arrival: number): void {
    const slot: Slot = { reply: undefined, arrival };
    this.slots.push(slot);
    this.lastActive = arrival;
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

  private answerOversized(arrival: number): void {
    this.log.warn(
      { evt: 'oversized-request', maxRequestBytes: this.decoder.maxLength },
      'request longer than max_request_bytes; skipped and answered NOTFOUND',
    );
    this.slots.push({ reply: NOTFOUND_REPLY, arrival });
  }

  /** A request whose handling threw gets NOTFOUND: mail then flows as it would without us. */
  private failOpen(err: unknown): Buffer {
    this.log.error({ evt: 'answer-failed', err }, 'request handling failed; answered NOTFOUND');
    return NOTFOUND_REPLY;
  }

  private complete(slot: Slot, reply: Buffer): void {
    slot.reply = reply;
    // Closing or closed: the client is gone or given up; the work itself has finished (and is cached).
    if (this.state === 'closing' || this.state === 'closed') return;
    this.flush();
    this.pump();
  }

  /**
   * Writes every ready reply at the head of the queue (several at once as one batch), oldest first. A reply
   * older than reply_max_age is not written: its client has given up and would take it for the answer to
   * its next request, so the connection is closed instead and the client sees EOF.
   */
  private flush(): void {
    if (this.state === 'closing' || this.state === 'closed' || this.slots.length === 0 || this.slots[0].reply === undefined) {
      this.armStaleTimer();
      return;
    }
    const socket = this.socket;
    const now = this.clock.now();
    const maxAge = this.limits().replyMaxAge;
    // The common case (sendmail: one request in flight) is a single reply: a plain write, no cork.
    const batch = this.slots.length > 1 && this.slots[1].reply !== undefined;
    if (batch) socket.cork();
    let ending: 'last' | Slot | undefined;
    while (this.slots.length > 0 && this.slots[0].reply !== undefined) {
      const slot = this.slots[0];
      if (now - slot.arrival > maxAge) {
        ending = slot;
        break;
      }
      this.slots.shift();
      socket.write(slot.reply as Buffer);
      if (slot.last) {
        ending = 'last';
        this.slots.length = 0;
      }
    }
    if (batch) socket.uncork();
    // Idle from now on, unless more is owed: the server evicts the connection idle longest.
    if (this.slots.length === 0) this.lastActive = now;
    if (ending === 'last') this.setState('closing', 'last reply written');
    else if (ending) this.closeStale(ending, now);
    else this.closeIfDone();
    this.armStaleTimer();
  }

  private closeStale(slot: Slot, now: number): void {
    const ageMs = Math.round(now - slot.arrival);
    this.log.warn(
      { evt: 'stale-reply', ageMs, replyMaxAgeMs: this.limits().replyMaxAge },
      `reply not sent: the request is ${ageMs} ms old, past reply_max_age; closing the connection`,
    );
    this.events.onStaleReply?.();
    this.setState('closing', 'stale reply');
  }

  /** Closes the connection when its oldest unanswered request reaches reply_max_age. */
  private armStaleTimer(): void {
    const head = this.slots[0];
    const pending = head !== undefined && head.reply === undefined && (this.state === 'open' || this.state === 'half-closed' || this.state === 'draining');
    if (!pending) {
      this.clearStaleTimer();
      return;
    }
    if (this.staleFor === head) return;
    this.clearStaleTimer();
    this.staleFor = head;
    const wait = Math.max(0, head.arrival + this.limits().replyMaxAge - this.clock.now());
    this.staleTimer = setTimeout(() => {
      this.staleTimer = undefined;
      this.staleFor = undefined;
      if (this.slots[0] === head && head.reply === undefined && this.state !== 'closing' && this.state !== 'closed') this.closeStale(head, this.clock.now());
    }, wait + 1).unref();
  }

  /**
   * Works through unread requests while there is room (in-flight bound, client taking its replies), then
   * reads again or stays paused. Loops because answers from the cache are synchronous: no later event would
   * come to pick up the rest. Runs after a half-close too, so every request the client sent is answered.
   */
  private pump(): void {
    while (this.backlog && this.hasRoom()) {
      const { bytes, arrival } = this.backlog;
      this.backlog = undefined;
      this.consume(bytes, arrival);
      this.flush();
    }
    if (this.state === 'open') {
      // Told only on a change: resume() and pause() are not free, and this runs for every request.
      const read = this.hasRoom() && !this.backlog;
      if (read !== this.reading) {
        this.reading = read;
        if (read) this.socket.resume();
        else this.socket.pause();
      }
    }
    this.closeIfDone();
  }

  private stopReading(): void {
    this.reading = false;
    this.socket.pause();
  }

  /** Room for another request: taking requests, under the in-flight bound, and the client reads its replies. */
  private hasRoom(): boolean {
    return (this.state === 'open' || this.state === 'half-closed') && this.slots.length < this.limits().maxInFlight && !this.socket.writableNeedDrain;
  }

  private onEnd(): void {
    // The client half-closed (e.g. `printf … | nc -N`): answer what it sent, then close our side.
    if (this.decoder.midFrame) this.log.debug({ evt: 'truncated-request' }, 'client closed in the middle of a request');
    if (this.state === 'open') this.setState('half-closed', 'client ended');
    this.pump();
  }

  private closeIfDone(): void {
    const done = this.slots.length === 0 && (this.state === 'draining' || (this.state === 'half-closed' && !this.backlog));
    if (done) this.setState('closing', 'nothing more owed');
  }

  /** One complete PERM reply after the replies already owed, then close: never a partial reply. */
  private protocolError(kind: string, reason: string): void {
    this.log.warn({ evt: 'protocol-error', kind, reason }, 'protocol error; closing connection');
    this.events.onProtocolError?.(kind);
    this.slots.push({ reply: encodeReply({ status: 'PERM', reason }), arrival: this.clock.now(), last: true });
    if (this.state === 'open') this.setState('draining', 'protocol error');
    this.backlog = undefined;
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
    }, ms).unref();
  }

  private clearRequestTimer(): void {
    if (this.requestTimer) clearTimeout(this.requestTimer);
    this.requestTimer = undefined;
  }

  private clearStaleTimer(): void {
    if (this.staleTimer) clearTimeout(this.staleTimer);
    this.staleTimer = undefined;
    this.staleFor = undefined;
  }

  private clearTimers(): void {
    this.clearRequestTimer();
    this.clearStaleTimer();
    if (this.lastCallTimer) clearTimeout(this.lastCallTimer);
    this.lastCallTimer = undefined;
    if (this.lingerTimer && this.state === 'closed') {
      clearTimeout(this.lingerTimer);
      this.lingerTimer = undefined;
    }
  }

  private onIdleTimeout(): void {
    if (this.idle) {
      this.log.debug({ evt: 'idle-close' }, 'closing idle connection');
      this.setState('draining', 'idle timeout');
    }
  }
}
