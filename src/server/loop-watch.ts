/**
 * When did the bytes read now arrive? Sockets are read in the event loop's poll phase, so a stall — a long
 * synchronous task, a GC pause, a stopped process (SIGSTOP, a suspended VM) — delays reading them: a
 * request read right after a stall may have waited through all of it, and its MTA may have given up.
 *
 * A timer ticks every `periodMs`. A tick more than `slackMs` late marks a stall: bytes read until the next
 * on-time tick are dated back to the last tick that came on time (libuv runs due timers before polling, so
 * after a stop the late tick fires before the waiting bytes are read). A tick overdue at read time means
 * the stall is happening now (a long task earlier in the same poll phase): those bytes are dated back to
 * the last tick. This is the technique of perf_hooks.monitorEventLoopDelay, which keeps only a histogram and
 * not when the stall was.
 */

export interface LoopClock {
  /** Monotonic milliseconds. */
  now(): number;
  /** The earliest time bytes read at `at` may have arrived. */
  arrival(at: number): number;
}

export class LoopWatch implements LoopClock {
  private lastTick: number;
  /** Set while the loop is recovering from a stall: the last tick that came on time. */
  private stalledFrom: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Stalls seen, and their total length past the tick period (for /metrics). */
  stalls = 0;
  stalledMs = 0;

  constructor(
    readonly now: () => number = () => performance.now(),
    private readonly periodMs = 50,
    private readonly slackMs = 50,
  ) {
    this.lastTick = now();
  }

  start(): this {
    this.timer ??= setInterval(() => this.tick(), this.periodMs).unref();
    return this;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Runs on the timer; public so tests drive it with a fake clock. */
  tick(): void {
    const now = this.now();
    const late = now - this.lastTick - this.periodMs;
    if (late > this.slackMs) {
      this.stalledFrom ??= this.lastTick;
      this.stalls++;
      this.stalledMs += late;
    } else {
      this.stalledFrom = undefined;
    }
    this.lastTick = now;
  }

  arrival(at: number): number {
    if (this.stalledFrom !== undefined) return Math.min(at, this.stalledFrom);
    if (at - this.lastTick > this.periodMs + this.slackMs) return Math.min(at, this.lastTick);
    return at;
  }
}

/** A clock that never sees stalls: for clients and tests that do not need one. */
export const plainClock: LoopClock = { now: () => performance.now(), arrival: (at) => at };
