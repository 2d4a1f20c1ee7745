/**
 * `mx4map learn FILE|-`: reads an MTA log and reports the MX hosts (and their domains) that rejected mail
 * sent over IPv6 because of our reverse DNS, with counts, and whether strict_receivers already covers each.
 * With --write, the suggested patterns go to a file for strict_receivers to include. It never changes the
 * configuration by itself. Exit 0 when rejections were found, 1 when none, 2 on an error.
 */
import { createReadStream, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { CommandModule } from 'yargs';
import { ConfigError } from '../errors.js';
import { writeFileAtomically } from '../files/atomic-write.js';
import { loadConfig } from '../config/load.js';
import { buildDomainSet } from '../engine/overrides.js';
import { HostSummary, Rejection, rejectionIn, summarise } from '../learn/bounce-lines.js';
import { rawFlagValues, withConfigFlags } from './config-flags.js';

export async function readRejections(input: Readable): Promise<{ lines: number; rejections: Rejection[] }> {
  const rejections: Rejection[] = [];
  let lines = 0;
  for await (const line of createInterface({ input, crlfDelay: Infinity })) {
    lines++;
    const found = rejectionIn(line);
    if (found) rejections.push(found);
  }
  return { lines, rejections };
}

/** The report, pure: one block per host, most rejections first. */
export function renderLearned(lines: number, rejections: readonly Rejection[], hosts: readonly HostSummary[], covered: (host: string) => boolean): string {
  if (hosts.length === 0) return `${lines} lines read: no mail rejected over IPv6 for reverse DNS (PTR) found\n`;
  const out = [`${lines} lines read: ${rejections.length} deliveries rejected over IPv6 for reverse DNS, by ${hosts.length} MX host(s)`];
  for (const h of hosts) {
    const domains = h.domains.slice(0, 5).map(([d, n]) => `${d} (${n})`).join(', ') + (h.domains.length > 5 ? `, … ${h.domains.length - 5} more` : '');
    out.push(`${h.host}  ${h.count} rejection(s)  ${covered(h.host) ? 'covered by strict_receivers' : `not covered: suggest ${h.pattern}`}`);
    out.push(`  domains  ${domains}`);
  }
  return `${out.join('\n')}\n`;
}

/** The pattern file: one pattern per line, with where it came from. */
export function renderPatternFile(hosts: readonly HostSummary[], source: string, now: Date): string {
  const patterns = [...new Set(hosts.map((h) => h.pattern))];
  const lines = [`# strict_receivers patterns learned by mx4map learn from ${source}, ${now.toISOString()}`];
  for (const p of patterns) {
    const from = hosts.filter((h) => h.pattern === p);
    lines.push(`${p}  # ${from.map((h) => `${h.host}: ${h.count}`).join(', ')}`);
  }
  return `${lines.join('\n')}\n`;
}

function openLog(path: string): Readable {
  if (path === '-') return process.stdin;
  let isFile: boolean;
  try {
    isFile = statSync(path).isFile();
  } catch (err) {
    throw new ConfigError(`cannot read the log ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  if (!isFile) throw new ConfigError(`the log ${path} is not a regular file (for a pipe or a compressed log use: zcat LOG.gz | mx4map learn -)`);
  return createReadStream(path);
}

export const learnCommand: CommandModule = {
  command: 'learn <log>',
  describe: 'Read an MTA log (FILE, or - for stdin) and report the MX hosts that rejected mail over IPv6 for our reverse DNS',
  builder: (yargs) =>
    withConfigFlags(yargs, ['strictReceivers'])
      .positional('log', { type: 'string', describe: 'the mail log (sendmail or Postfix), or - to read stdin' })
      .option('write', { type: 'string', requiresArg: true, describe: 'write the suggested strict_receivers patterns to this file (then list it in strict_receivers)' }),
  handler: async (argv) => {
    const config = loadConfig(rawFlagValues(argv, ['strictReceivers']), argv.config as string | undefined);
    const strict = buildDomainSet(config.strictReceivers, 'strict_receivers');
    // yargs hands a lone `-` over as an empty string.
    const path = argv.log === '' || argv.log === '-' ? '-' : String(argv.log);
    const { lines, rejections } = await readRejections(openLog(path));
    const hosts = summarise(rejections);
    process.stdout.write(renderLearned(lines, rejections, hosts, (host) => strict.has(host)));
    const target = argv.write as string | undefined;
    if (target !== undefined && hosts.length > 0) {
      try {
        // Readable by serve, which may run as another user.
        await writeFileAtomically(target, renderPatternFile(hosts, path === '-' ? 'stdin' : path, new Date()), 0o644);
      } catch (err) {
        throw new ConfigError(`cannot write --write ${target}: ${(err as Error).message}`);
      }
      process.stdout.write(`patterns written to ${target}; to use them: strict_receivers: [${[...config.strictReceivers, target].join(', ')}]\n`);
    }
    process.exitCode = hosts.length > 0 ? 0 : 1;
  },
};
