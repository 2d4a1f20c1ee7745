/**
 * `mx4map learn FILE|-`: reads an MTA log and reports the MX hosts (and their domains) that rejected mail
 * sent over IPv6 because of our reverse DNS, with counts, and whether strict_receivers already covers each.
 * With --write, the suggested patterns go to a file for strict_receivers to include. It never changes the
 * configuration by itself. Exit 0 when rejections were found, 1 when none, 2 on an error.
 */
import type { Readable } from 'node:stream';
import { dirname, resolve } from 'node:path';
import { accessSync, constants, statSync } from 'node:fs';
import type { CommandModule } from 'yargs';
import { ConfigError } from '../errors.js';
import { writeFileAtomically } from '../files/atomic-write.js';
import { loadConfig } from '../config/load.js';
import { buildDomainSet } from '../domain/domain-set.js';
import { type HostSummary, MAX_LINE, type Rejection, rejectionIn, summarise } from '../learn/bounce-lines.js';
import { type LineCounts, logLines } from '../learn/log-lines.js';
import { rawFlagValues, withConfigFlags } from './config-flags.js';
import { openInput } from './input-file.js';

export async function readRejections(input: Readable): Promise<{ lines: number; skipped: number; rejections: Rejection[] }> {
  const rejections: Rejection[] = [];
  const counts: LineCounts = { lines: 0, skipped: 0 };
  for await (const line of logLines(input, MAX_LINE, counts)) {
    const found = rejectionIn(line);
    if (found) rejections.push(found);
  }
  return { ...counts, rejections };
}

/** The report, pure: one block per host, most rejections first. */
export function renderLearned(
  lines: number,
  rejections: readonly Rejection[],
  hosts: readonly HostSummary[],
  covered: (host: string) => boolean,
  skipped = 0,
): string {
  const read = `${lines} lines read${skipped ? ` (${skipped} longer than ${MAX_LINE} bytes skipped)` : ''}`;
  if (hosts.length === 0) return `${read}: no mail rejected over IPv6 for reverse DNS (PTR) found\n`;
  const out = [`${read}: ${rejections.length} deliveries rejected over IPv6 for reverse DNS, by ${hosts.length} MX host(s)`];
  for (const h of hosts) {
    const domains =
      h.domains
        .slice(0, 5)
        .map(([d, n]) => `${d} (${n})`)
        .join(', ') + (h.domains.length > 5 ? `, … ${h.domains.length - 5} more` : '');
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

/** Throws ConfigError naming `target` when its directory does not exist or cannot be written. */
function writableTarget(target: string): void {
  const dir = dirname(resolve(target));
  try {
    if (!statSync(dir).isDirectory()) throw new ConfigError(`cannot write --write ${target}: ${dir} is not a directory`);
    accessSync(dir, constants.W_OK);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(
      `cannot write --write ${target}: ${code === 'ENOENT' ? `the directory ${dir} does not exist` : code === 'EACCES' ? `${dir} is not writable` : (err as Error).message}`,
    );
  }
}

export const learnCommand: CommandModule = {
  command: 'learn <log>',
  describe: 'Read an MTA log (FILE, or - for stdin) and report the MX hosts that rejected mail over IPv6 for our reverse DNS',
  builder: (yargs) =>
    withConfigFlags(yargs, ['strictReceivers'])
      .positional('log', { type: 'string', describe: 'the mail log (sendmail or Postfix), or - to read stdin' })
      .option('write', {
        type: 'string',
        requiresArg: true,
        describe: 'write the suggested strict_receivers patterns to this file (then list it in strict_receivers)',
      }),
  handler: async (argv) => {
    const config = loadConfig(rawFlagValues(argv, ['strictReceivers']), argv.config as string | undefined);
    const strict = buildDomainSet(config.strictReceivers, 'strict_receivers');
    // yargs hands a lone `-` over as an empty string.
    const path = argv.log === '' || argv.log === '-' ? '-' : String(argv.log);
    // Where --write goes is checked before the log is read: a long report, then a failure, helps nobody.
    if (argv.write !== undefined) writableTarget(String(argv.write));
    const { lines, skipped, rejections } = await readRejections(openInput(path, 'log', ' (for a pipe or a compressed log use: zcat LOG.gz | mx4map learn -)'));
    const hosts = summarise(rejections);
    process.stdout.write(renderLearned(lines, rejections, hosts, (host) => strict.has(host), skipped));
    const target = argv.write as string | undefined;
    if (target !== undefined && hosts.length > 0) {
      try {
        // Readable by serve, which may run as another user.
        await writeFileAtomically(target, renderPatternFile(hosts, path === '-' ? 'stdin' : path, new Date()), 0o644);
      } catch (err) {
        throw new ConfigError(`cannot write --write ${target}: ${(err as Error).message}`);
      }
      // A pattern file is named by an absolute path (anything else would be read as a domain pattern).
      process.stdout.write(`patterns written to ${target}; to use them: strict_receivers: [${[...config.strictReceivers, resolve(target)].join(', ')}]\n`);
    }
    process.exitCode = hosts.length > 0 ? 0 : 1;
  },
};
