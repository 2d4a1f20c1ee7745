/**
 * Counts the resources keeping the event loop alive (sockets, servers, timers), by type, so a test can show
 * that a fault left nothing behind once its work is over.
 */
export type ResourceCounts = Record<string, number>;

export function activeResources(): ResourceCounts {
  const counts: ResourceCounts = {};
  for (const type of process.getActiveResourcesInfo()) counts[type] = (counts[type] ?? 0) + 1;
  return counts;
}

function excess(before: ResourceCounts, now: ResourceCounts): string[] {
  return Object.entries(now)
    .filter(([type, n]) => n > (before[type] ?? 0))
    .map(([type, n]) => `${type}: ${before[type] ?? 0} -> ${n}`);
}

/** Resolves once no resource type counts more than it did in `before`; rejects, naming the extras, after `ms`. */
export async function expectNothingLeftSince(before: ResourceCounts, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    // Let closes that are already under way complete before counting.
    await new Promise((r) => setImmediate(r));
    const extra = excess(before, activeResources());
    if (extra.length === 0) return;
    if (Date.now() > until) throw new Error(`resources left behind: ${extra.join(', ')}`);
    await new Promise((r) => setTimeout(r, 20).unref());
  }
}
