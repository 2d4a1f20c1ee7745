/**
 * A server-wide budget: at most `limit` tasks at once (DNS queries in flight, probes running). Waiting is
 * bounded by a deadline — the lookup's own: a task that cannot start in time is not started at all, so
 * one flood of hostile lookups cannot make every other lookup wait for minutes.
 */
interface Waiter {
  readonly admit: () => void;
  timer: NodeJS.Timeout | undefined;
}

export class Gate {
  private active = 0;
  private readonly waiting: Waiter[] = [];
  /** Entries refused because their deadline came first. */
  refused = 0;

  constructor(
    readonly limit: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  get inUse(): number {
    return this.active;
  }

  /** Resolves true once admitted (call leave() when done), false when `until` passes first. */
  enter(until = Infinity): Promise<boolean> {
    if (this.active < this.limit && this.waiting.length === 0) {
      this.active++;
      return Promise.resolve(true);
    }
    const wait = until - this.now();
    if (wait <= 0) {
      this.refused++;
      return Promise.resolve(false);
    }
    return new Promise<boolean>((resolve) => {
      const waiter: Waiter = {
        admit: () => {
          if (waiter.timer) clearTimeout(waiter.timer);
          this.active++;
          resolve(true);
        },
        timer: undefined,
      };
      if (Number.isFinite(wait)) {
        waiter.timer = setTimeout(() => {
          const i = this.waiting.indexOf(waiter);
          if (i >= 0) this.waiting.splice(i, 1);
          this.refused++;
          resolve(false);
        }, wait);
      }
      this.waiting.push(waiter);
    });
  }

  leave(): void {
    this.active--;
    const next = this.waiting.shift();
    if (next) next.admit();
  }

  /** Runs `task` inside the gate; undefined when it could not start before `until`. */
  run<T>(until: number, task: () => Promise<T>): Promise<T | undefined> {
    // Room now (the common case): started at once, without waiting a turn for an admission already given.
    if (this.active < this.limit && this.waiting.length === 0) {
      this.active++;
      return this.admitted(task);
    }
    return this.enter(until).then((admitted) => (admitted ? this.admitted(task) : undefined));
  }

  private async admitted<T>(task: () => Promise<T>): Promise<T> {
    try {
      return await task();
    } finally {
      this.leave();
    }
  }
}
