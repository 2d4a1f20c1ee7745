/**
 * The one-screen status `mx4map status` prints, from one scrape of /metrics (and the one before, for rates),
 * /healthz and the forced decisions held. Pure: every figure comes from its arguments.
 */
import type { ExportedDecision } from '../engine/decision.js';
import { type Sample, select, sumBy, total } from '../text/prom-text.js';

export interface StatusInput {
  readonly server: string;
  readonly scrape: readonly Sample[];
  /** The scrape before, and how many seconds before: rates over that span; otherwise averages since start. */
  readonly previous?: { readonly scrape: readonly Sample[]; readonly seconds: number };
  /** Wall-clock seconds now (for the up time). */
  readonly now: number;
  readonly health: { readonly status: number; readonly lines: readonly string[] };
  readonly forced: readonly ExportedDecision[];
}

const int = (n: number): string => Math.round(n).toLocaleString('en');
const pct = (part: number, whole: number): string => (whole > 0 ? `${((100 * part) / whole).toFixed(1)} %` : '-');

function duration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  return d > 0 ? `${d}d ${h}h` : h > 0 ? `${h}h ${m}m` : `${m}m ${s % 60}s`;
}

/** `a 12, b 3` from a map of counts, largest first (zeros left out unless everything is zero). */
function counts(by: Map<string, number>, show: (n: number) => string = int): string {
  const entries = [...by].filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
  return entries.length === 0 ? 'none' : entries.map(([k, n]) => `${k || '-'} ${show(n)}`).join(', ');
}

export function renderStatus(input: StatusInput): string {
  const { scrape, previous } = input;
  const line = (label: string, text: string): string => `${label.padEnd(12)} ${text}`;
  const build = select(scrape, 'mx4map_build_info')[0]?.labels ?? {};
  const started = total(scrape, 'mx4map_process_start_time_seconds');
  const up = started > 0 ? duration(input.now - started) : '?';
  const out: string[] = [
    `mx4map ${build.version ?? '?'} (Node.js ${build.node ?? '?'}) at ${input.server}: up ${up}, ${input.health.status === 200 ? 'serving' : `not serving (HTTP ${input.health.status})`}`,
  ];
  const lookups = total(scrape, 'mx4map_lookups_total');
  const rate = previous
    ? (lookups - total(previous.scrape, 'mx4map_lookups_total')) / previous.seconds
    : started > 0
      ? lookups / Math.max(1, input.now - started)
      : 0;
  out.push(
    line(
      'lookups',
      `${rate.toFixed(1)}/s ${previous ? `over the last ${previous.seconds.toFixed(previous.seconds < 10 ? 1 : 0)} s` : 'on average since start'}; ${int(lookups)} in all`,
    ),
  );
  const answers = sumBy(scrape, 'mx4map_lookups_total', 'answer');
  out.push(line('answers', ['OK', 'NOTFOUND', 'TEMP', 'PERM'].map((a) => `${a} ${pct(answers.get(a) ?? 0, lookups)}`).join('  ')));
  out.push(line('forced by', counts(sumBy(scrape, 'mx4map_lookups_total', 'reason', { answer: 'OK' }))));
  const byTrigger = new Map<string, string[]>();
  for (const d of input.forced) for (const t of d.triggers) byTrigger.set(t, [...(byTrigger.get(t) ?? []), d.domain]);
  out.push(
    line(
      'held forced',
      input.forced.length === 0
        ? 'none'
        : `${int(input.forced.length)} domain${input.forced.length === 1 ? '' : 's'}: ${counts(new Map([...byTrigger].map(([t, ds]) => [t, ds.length])))}`,
    ),
  );
  for (const [trigger, domains] of [...byTrigger].sort((a, b) => b[1].length - a[1].length).slice(0, 4))
    out.push(line('', `${trigger}: ${domains.slice(0, 5).join(', ')}${domains.length > 5 ? `, … (${int(domains.length - 5)} more)` : ''}`));
  const hits = total(scrape, 'mx4map_cache_hits_total', { cache: 'decisions' });
  const misses = total(scrape, 'mx4map_cache_misses_total', { cache: 'decisions' });
  out.push(line('cache', `${counts(sumBy(scrape, 'mx4map_cache_entries', 'cache'))} held; decisions answered from cache ${pct(hits, hits + misses)}`));
  out.push(line('stale', `answers from expired decisions: ${counts(sumBy(scrape, 'mx4map_stale_answers_total', 'cause'))}`));
  const dns = sumBy(scrape, 'mx4map_dns_queries_total', 'rcode');
  const queries = [...dns.values()].reduce((a, b) => a + b, 0);
  const failed = [...dns].filter(([r]) => r !== 'NOERROR' && r !== 'NXDOMAIN').reduce((a, [, n]) => a + n, 0);
  out.push(line('dns', `${int(queries)} queries, ${pct(failed, queries)} failed (${counts(dns)})`));
  out.push(line('probes', counts(sumBy(scrape, 'mx4map_probes_total', 'outcome'))));
  const refused = counts(sumBy(scrape, 'mx4map_budget_refused_total', 'budget'));
  if (refused !== 'none') out.push(line('refused', `budget full past the deadline: ${refused}`));
  const identity = select(scrape, 'mx4map_sender_ipv6_identity').filter((s) => s.value === 1);
  if (identity.length > 0 || select(scrape, 'mx4map_sender_ipv6_unready').length > 0)
    out.push(
      line(
        'identity',
        identity.length === 0
          ? 'no IPv6 source checked (sender-ipv6-unready inert)'
          : `${total(scrape, 'mx4map_sender_ipv6_unready') === 1 ? 'UNREADY (strict receivers forced onto IPv4)' : 'ready'}: ${identity.map((s) => `${s.labels.address} ${s.labels.verdict}`).join(', ')}`,
      ),
    );
  if (select(scrape, 'mx4map_shared_cache_up').length > 0)
    out.push(
      line(
        'fleet',
        `shared cache ${total(scrape, 'mx4map_shared_cache_up') === 1 ? 'up' : 'DOWN'}; decision reads ${counts(sumBy(scrape, 'mx4map_shared_decision_reads_total', 'result'))}`,
      ),
    );
  if (select(scrape, 'mx4map_delivery_log_readable').length > 0)
    out.push(
      line(
        'evidence',
        `${int(total(scrape, 'mx4map_delivery_evidence'))} held; reports ${counts(sumBy(scrape, 'mx4map_delivery_reports_total', 'outcome'))}; logs readable ${select(scrape, 'mx4map_delivery_log_readable').filter((s) => s.value === 1).length}/${select(scrape, 'mx4map_delivery_log_readable').length}`,
      ),
    );
  const connections = sumBy(scrape, 'mx4map_connections', 'state');
  out.push(
    line(
      'connections',
      `${int(connections.get('open') ?? 0)} open, ${int(connections.get('idle') ?? 0)} idle; closed ${counts(sumBy(scrape, 'mx4map_connections_closed_total', 'reason'))}`,
    ),
  );
  for (const detail of input.health.lines) out.push(line('health', detail));
  return `${out.join('\n')}\n`;
}
