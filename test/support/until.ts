/**
 * Waits for something a server does in the background (a decision landing in the cache, clients connected):
 * polls `condition` every 5 ms, and fails after `ms`. Waiting on an outcome, not sleeping for a time.
 */
export async function until(condition: () => boolean | Promise<boolean>, ms = 5000, what = 'condition'): Promise<void> {
  const started = performance.now();
  while (!(await condition())) {
    if (performance.now() - started > ms) throw new Error(`${what} not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * Lets the event loop go round `n` times (each turn runs timers, reads sockets, runs callbacks): for an
 * in-process server, whatever it would do with what it has already received happens within these turns.
 * The way to show that something does *not* happen, without sleeping a fixed time.
 */
export async function loopTurns(n = 10): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
}
