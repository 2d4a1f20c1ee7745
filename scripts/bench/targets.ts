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
  /** The bare server's p99 in the same run: the load generator shares the machine and sets this floor. */
  readonly bareP99Ms?: number;
  /** Cold decision, server CPU µs, steady state (scenario 3). */
  readonly coldCpuUs: number;
  /** The bare server sending the same DNS queries through c-ares per request: no cold path can cost less. */
  readonly coldFloorCpuUs?: number;
  /** Our DNS client's CPU per MX query over c-ares's. */
  readonly dnsClientCpuRatio: number;
  /** Start to listening, ms (the first server). */
  readonly startMs: number;
  /** The bare Node netstring server's start to listening, same run. */
  readonly bareStartMs?: number;
  /** Heap bytes per cached decision at 100k (undefined when not measured). */
  readonly heapPerDecision?: number;
}

interface Target {
  readonly name: string;
  readonly figure: (f: Figures) => number | undefined;
  readonly show: (v: number) => string;
  readonly goal: string;
  readonly met: (v: number) => boolean;
  /** What the machine itself allows for this figure, measured in the same run (shown beside it). */
  readonly floor?: (f: Figures) => number | undefined;
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
  { name: 'p99 of those hits', figure: (f) => f.hitP99Ms, show: (v) => `${v.toFixed(2)} ms`, goal: '< 1 ms', met: (v) => v < 1, floor: (f) => f.bareP99Ms },
  {
    name: 'cold decision, server CPU',
    figure: (f) => f.coldCpuUs,
    show: (v) => `${v.toFixed(0)} µs`,
    goal: '≤ 80 µs',
    met: (v) => v <= 80,
    floor: (f) => f.coldFloorCpuUs,
  },
  { name: 'DNS client CPU per query vs c-ares', figure: (f) => f.dnsClientCpuRatio, show: (v) => `${v.toFixed(2)}×`, goal: '≤ 1.10×', met: (v) => v <= 1.1 },
  {
    name: 'start to listening',
    figure: (f) => f.startMs,
    show: (v) => `${v.toFixed(0)} ms`,
    goal: '≤ 120 ms',
    met: (v) => v <= 120,
    floor: (f) => f.bareStartMs,
  },
  { name: 'heap per cached decision (100k)', figure: (f) => f.heapPerDecision, show: (v) => `${v.toFixed(0)} B`, goal: '≤ 130 B', met: (v) => v <= 130 },
];

const measuredValue = (v: number | undefined): v is number => v !== undefined && !Number.isNaN(v);

/**
 * One line per target: name, figure, goal, met / not met, and where the bench measured one, the floor this
 * machine sets for the figure in the same run (a bare server doing only the unavoidable part).
 */
export function targetLines(figures: Figures): string[] {
  const rows = TARGETS.map((t) => {
    const v = t.figure(figures);
    const floor = t.floor?.(figures);
    return [
      t.name,
      measuredValue(v) ? t.show(v) : '-',
      t.goal,
      measuredValue(v) ? (t.met(v) ? 'met' : 'NOT MET') : 'not measured',
      measuredValue(floor) ? `(floor here: ${t.show(floor)})` : '',
    ];
  });
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i].length)));
  return [
    'targets:',
    ...rows.map((r) => `  ${r[0].padEnd(widths[0])}  ${r[1].padStart(widths[1])}  ${r[2].padEnd(widths[2])}  ${r[3].padEnd(widths[3])}  ${r[4]}`.trimEnd()),
  ];
}
