/** Paces request starts to at most `rate` per second across all connections (0 = unpaced). */
export interface PacerClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const realClock: PacerClock = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** A function each request awaits before it starts; the n-th start waits until (n-1)/rate s after the first. */
export function pacer(rate: number, clock: PacerClock = realClock): () => Promise<void> {
  if (rate <= 0) return () => Promise.resolve();
  const interval = 1000 / rate;
  let next = clock.now();
  return () => {
    const now = clock.now();
    const at = Math.max(now, next);
    next = at + interval;
    return at <= now ? Promise.resolve() : clock.sleep(at - now);
  };
}
