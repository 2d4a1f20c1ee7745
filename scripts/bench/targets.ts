/**
 * The performance targets, each printed beside its figure (met / not met). Targets live here, in the bench,
 * never in timed tests: a loaded CI machine would make those flake. docs/performance.md keeps the history.
 */

export interface Figures {
  /** Cache hits at 50 connections: mx4map's throughput over the bare netstring server's, same run. */
  readonly hitThroughputRatio: number;
  /** Server CPU per hit over the bare server's. */
  readonly hitCpuRatio: number;
  readonly hitP99Ms: number;
  /** Cold decision, server CPU µs, steady state (scenario 3). */
  readonly coldCpuUs: number;
  /** Our DNS client's CPU per MX query over c-ares's. */
  readonly dnsClientCpuRatio: number;
  /** Start to listening, ms (the first server). */
  readonly startMs: number;
  /** Heap bytes per cached decision at 100k (undefined when not measured). */
  readonly heapPerDecision?: number;
}

interface Target {
  readonly name: string;
  readonly figure: (f: Figures) => number | undefined;
  readonly show: (v: number) => string;
  readonly goal: string;
  readonly met: (v: number) => boolean;
}

const TARGETS: readonly Target[] = [
  {
    name: 'cache hits at 50 connections, share of the bare server',
    figure: (f) => f.hitThroughputRatio,
    show: (v) => v.toFixed(2),
    goal: '≥ 0.92',
    met: (v) => v >= 0.92,
  },
  { name: 'server CPU per hit vs the bare server', figure: (f) => f.hitCpuRatio, show: (v) => `${v.toFixed(2)}×`, goal: '≤ 1.15×', met: (v) => v <= 1.15 },
  { name: 'p99 of those hits', figure: (f) => f.hitP99Ms, show: (v) => `${v.toFixed(2)} ms`, goal: '< 1 ms', met: (v) => v < 1 },
  { name: 'cold decision, server CPU', figure: (f) => f.coldCpuUs, show: (v) => `${v.toFixed(0)} µs`, goal: '≤ 80 µs', met: (v) => v <= 80 },
  { name: 'DNS client CPU per query vs c-ares', figure: (f) => f.dnsClientCpuRatio, show: (v) => `${v.toFixed(2)}×`, goal: '≤ 1.10×', met: (v) => v <= 1.1 },
  { name: 'start to listening', figure: (f) => f.startMs, show: (v) => `${v.toFixed(0)} ms`, goal: '≤ 120 ms', met: (v) => v <= 120 },
  { name: 'heap per cached decision (100k)', figure: (f) => f.heapPerDecision, show: (v) => `${v.toFixed(0)} B`, goal: '≤ 130 B', met: (v) => v <= 130 },
];

/** One line per target: name, figure, goal, met / not met. */
export function targetLines(figures: Figures): string[] {
  const rows = TARGETS.map((t) => {
    const v = t.figure(figures);
    return [
      t.name,
      v === undefined || Number.isNaN(v) ? '-' : t.show(v),
      t.goal,
      v === undefined || Number.isNaN(v) ? 'not measured' : t.met(v) ? 'met' : 'NOT MET',
    ];
  });
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i].length)));
  return ['targets:', ...rows.map((r) => `  ${r[0].padEnd(widths[0])}  ${r[1].padStart(widths[1])}  ${r[2].padEnd(widths[2])}  ${r[3]}`)];
}
