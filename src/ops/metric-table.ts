/**
 * The README's table of /metrics: every series mx4map exports, with its type, labels and help, read from the
 * registry itself (a Metrics built with every optional source present; nothing is collected), so the table
 * cannot drift from the code. `npm run docs:options` writes it into the README; a test compares.
 */
import { Metrics, type MetricSources } from './metrics.js';

/** Present, never called: the table needs what is registered, not values. */
const never = (): never => {
  throw new Error('metric-table: a source was read');
};

const EVERY_SOURCE: MetricSources = {
  connections: never,
  caches: never,
  probes: never,
  logDropped: never,
  loopStalls: never,
  budgetRefused: never,
  freshness: never,
  identity: never,
  interfacesReadable: never,
  shared: never,
  deliveryLogs: never,
  reload: never,
};

/** Node.js process metrics of prom-client's defaults, one row for all. */
const DEFAULTS = /^mx4map_(process|nodejs)_/;

interface Registered {
  readonly name: string;
  readonly help: string;
  readonly type?: string;
  readonly labelNames?: readonly string[];
}

export function metricTableMarkdown(): string {
  const metrics = new Metrics(EVERY_SOURCE);
  const all = metrics.registry.getMetricsAsArray() as unknown as Registered[];
  const rows = all
    .filter((m) => !DEFAULTS.test(m.name))
    .map((m) => {
      const type = m.type ?? (m as unknown as { constructor: { name: string } }).constructor.name.toLowerCase();
      const labels = (m.labelNames ?? [])
        .filter((l) => l !== 'le')
        .map((l) => `\`${l}\``)
        .join(', ');
      return `| \`${m.name}\` | ${type} | ${labels} | ${m.help.replace(/\|/g, '\\|')} |`;
    });
  metrics.registry.clear();
  return [
    '| metric | type | labels | what it counts |',
    '|---|---|---|---|',
    ...rows,
    "| `mx4map_process_*`, `mx4map_nodejs_*` | | | Node.js process metrics (prom-client's defaults): CPU, memory, open files, event-loop lag, GC, heap, active handles and resources by `type` |",
  ].join('\n');
}
