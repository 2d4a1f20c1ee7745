/** The figures /metrics reads, all zero and empty (a server that has done nothing); a test overrides what it checks. */
import type { MetricSources } from '../../src/ops/metrics';

export function metricSources(over: Partial<MetricSources> = {}): MetricSources {
  return {
    connections: () => ({ open: 0, idle: 0, protocolErrors: 0, staleReplies: 0, evicted: 0, refused: 0 }),
    caches: () => ({}),
    probes: () => ({}),
    logDropped: () => 0,
    loopStalls: () => ({ stalls: 0, seconds: 0 }),
    budgetRefused: () => ({ dns: 0, probes: 0 }),
    freshness: () => ({ stale: {}, refreshes: { started: 0, skipped: 0 } }),
    ...over,
  };
}
