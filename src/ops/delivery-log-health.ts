/** The /healthz lines for the followed delivery logs: each log's state and place, and how much evidence is held. */
import type { FollowerState } from '../learn/log-follower.js';

export function describeDeliveryLogs(logs: readonly FollowerState[], evidence: number, now = performance.now()): string[] {
  if (logs.length === 0) return [];
  const lines = logs.map((l) => {
    const last = l.lastLineAt === undefined ? 'no line yet' : `last line ${Math.round((now - l.lastLineAt) / 1000)} s ago`;
    const state = l.status === 'open' ? `at byte ${l.position}, ${last}` : l.status === 'error' ? `unreadable (${l.problem ?? 'error'})` : l.status;
    return `delivery log ${l.path}: ${state}`;
  });
  return [...lines, `delivery evidence held: ${evidence}`];
}
