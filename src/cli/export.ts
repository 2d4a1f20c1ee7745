/**
 * `mx4map export`: writes the forced decisions a running server holds as a static map file, for operators
 * who want to freeze them or keep a fallback: `domain<TAB>esmtp:[…]` (sendmail mailertable, makemap
 * input) or `domain<TAB>smtp:[…]` (Postfix transport, postmap input). Domains that publish DANE or
 * MTA-STS are left out: a static literal route would drop that protection for as long as the file lives.
 */
import type { CommandModule } from 'yargs';
import { ClientError, ConfigError } from '../errors.js';
import type { ExportedDecision } from '../engine/decision.js';
import { DEFAULT_POLICY, routeValue } from '../maps/format.js';
import { DEFAULT_MAILER, type MapDefinition, TABLE_NAMES, isMailerName } from '../maps/definitions.js';
import { DEFAULT_OPS_LISTEN } from '../ops/http.js';
import { opsGet } from './ops-request.js';

/** Renders decisions as map lines; pure. */
export function renderExport(decisions: readonly ExportedDecision[], map: MapDefinition, maxAddresses: number, now: Date): string {
  // The server sends them unsorted (sorting 200,000 would hold its loop); sorted here, so files diff well.
  const kept = decisions.filter((d) => !d.protection?.length).sort((x, y) => (x.domain < y.domain ? -1 : x.domain > y.domain ? 1 : 0));
  const left = decisions.length - kept.length;
  const what = TABLE_NAMES[map.format];
  const lines = [
    `# mx4map export, ${now.toISOString()}: ${kept.length} forced domains (${what})${left ? `; ${left} left out: they publish DANE or MTA-STS` : ''}`,
  ];
  for (const d of kept) {
    const value = routeValue(d.routes, map, { ...DEFAULT_POLICY, maxAddresses });
    if (value) lines.push(`${d.domain}\t${value}`);
  }
  return `${lines.join('\n')}\n`;
}

export async function fetchDecisions(baseUrl: string): Promise<ExportedDecision[]> {
  const response = await opsGet(baseUrl, '/decisions');
  if (!response.ok) throw new ClientError(`${response.url} answered HTTP ${response.status}`);
  return (await response.json()) as ExportedDecision[];
}

export const exportCommand: CommandModule = {
  command: 'export',
  describe: "Write the running server's forced decisions as a static mailertable or transport map",
  builder: (yargs) =>
    yargs
      .option('http', { type: 'string', default: DEFAULT_OPS_LISTEN, requiresArg: true, describe: "the server's --http listener: HOST:PORT or URL" })
      .option('format', {
        choices: ['mailertable', 'transport'] as const,
        default: 'mailertable' as const,
        describe: 'sendmail mailertable or Postfix transport lines',
      })
      .option('mailer', { type: 'string', requiresArg: true, describe: 'mailer (sendmail) or transport (Postfix) name [default: esmtp | smtp]' })
      .option('max-addresses', { type: 'number', default: DEFAULT_POLICY.maxAddresses, requiresArg: true, describe: 'most addresses per line' }),
  handler: async (argv) => {
    const format = argv.format === 'transport' ? 'postfix' : 'sendmail';
    const mailer = (argv.mailer as string | undefined) ?? DEFAULT_MAILER[format];
    if (!isMailerName(mailer)) throw new ConfigError(`--mailer "${mailer}" is not a mailer name such as esmtp`);
    const max = argv['max-addresses'] as number;
    if (!Number.isInteger(max) || max < 1) throw new ConfigError('--max-addresses must be a whole number of at least 1');
    const decisions = await fetchDecisions(argv.http as string);
    process.stdout.write(renderExport(decisions, { name: 'export', format, mailer, nexthop: 'literal' }, max, new Date()));
  },
};
