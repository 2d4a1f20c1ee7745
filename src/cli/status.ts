/**
 * `mx4map status [--http ADDRESS] [--watch [SECONDS]]`: one screen about the running server, from its ops
 * listener (/metrics, /healthz, /decisions) — no Grafana needed. With --watch it redraws until interrupted,
 * with rates over the span between two scrapes.
 */
import type { CommandModule } from 'yargs';
import { DEFAULT_OPS_LISTEN, httpBaseUrl } from '../ops/http.js';
import { opsGet } from './ops-request.js';
import { ClientError } from '../errors.js';
import type { ExportedDecision } from '../engine/decision.js';
import { type Sample, parseExposition } from '../text/prom-text.js';
import { renderStatus } from './status-report.js';

/** Most forced decisions read for the summary (the list is one GET; its first page is enough to name the top). */
const FORCED_PAGE = 100_000;

interface Snapshot {
  readonly scrape: Sample[];
  readonly at: number;
  readonly health: { status: number; lines: string[] };
  readonly forced: ExportedDecision[];
}

async function snapshot(base: string): Promise<Snapshot> {
  const metrics = await opsGet(base, '/metrics');
  if (!metrics.ok) throw new ClientError(`${base}/metrics answered HTTP ${metrics.status}`);
  const scrape = parseExposition(await metrics.text());
  const at = Date.now() / 1000;
  const health = await opsGet(base, '/healthz');
  const lines = (await health.text()).trim().split('\n').slice(1);
  const decisions = await opsGet(base, `/decisions?limit=${FORCED_PAGE}`);
  // Off loopback without http_expose_domains the list is withheld: the rest of the status stands.
  const forced = decisions.ok ? ((await decisions.json()) as ExportedDecision[]) : [];
  return { scrape, at, health: { status: health.status, lines }, forced };
}

export const statusCommand: CommandModule = {
  command: 'status',
  describe: 'One screen about the running server: lookups, answers, forced domains, cache, DNS, probes, identity, fleet (from its ops listener)',
  builder: (yargs) =>
    yargs
      .option('http', { type: 'string', default: DEFAULT_OPS_LISTEN, requiresArg: true, describe: "the server's ops listener: HOST:PORT or URL" })
      .option('watch', { type: 'number', describe: 'redraw every SECONDS (default 2) until interrupted' }),
  handler: async (argv) => {
    const base = httpBaseUrl(argv.http as string);
    const asked = argv.watch as number | undefined;
    // `--watch` alone: every 2 s.
    const watch = asked !== undefined && Number.isNaN(asked) ? 2 : asked;
    if (watch !== undefined && !(watch > 0)) throw new ClientError('--watch takes a number of seconds above 0 (or nothing: 2)');
    let previous = await snapshot(base);
    const draw = (now: Snapshot, before?: Snapshot): string =>
      renderStatus({
        server: base,
        scrape: now.scrape,
        previous: before ? { scrape: before.scrape, seconds: now.at - before.at } : undefined,
        now: now.at,
        health: now.health,
        forced: now.forced,
      });
    if (watch === undefined) {
      process.stdout.write(draw(previous));
      return;
    }
    for (;;) {
      await new Promise((r) => setTimeout(r, watch * 1000));
      const current = await snapshot(base);
      // Clear the screen and home the cursor, as watch(1) does.
      process.stdout.write(`\x1b[2J\x1b[H${draw(current, previous)}`);
      previous = current;
    }
  },
};
