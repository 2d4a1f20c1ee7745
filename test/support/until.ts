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
