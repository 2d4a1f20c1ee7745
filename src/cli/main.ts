/**
 * The command line: a thin yargs shell over the same functions the server uses. Every usage or
 * configuration error is one line on stderr and exit status 2.
 */
import yargs, { type CommandModule } from 'yargs';
import { Mx4mapError } from '../errors.js';
import { serveCommand } from './serve.js';
import { queryCommand } from './query.js';
import { checkConfigCommand } from './check-config.js';
import { lookupCommand } from './lookup.js';
import { exportCommand } from './export.js';
import { replayCommand } from './replay.js';
import { learnCommand } from './learn.js';
import { demoCommand } from './demo.js';
import { reloadCommand } from './reload.js';
import { statusCommand } from './status.js';
import { OPTIONS, OPTION_NAMES, flagName } from '../config/options.js';
import { VERSION } from '../version.js';

/** yargs' wordings said the way our own messages are, on one line. */
function plainYargsMessage(message: string): string {
  const missingValue = /^Not enough arguments following: (\S+)$/.exec(message);
  if (missingValue) return `--${missingValue[1]} needs a value`;
  const choice = /^Invalid values:\s+Argument: (\S+), Given: (.*), Choices: (.*)$/s.exec(message);
  if (choice) return `--${choice[1]} ${choice[2]} is not one of ${choice[3].replace(/"/g, '')}`;
  return message
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join('; ');
}

/** Flags in `args` the command does not know: named first, before what their swallowed values caused. */
function unknownFlags(args: readonly string[], known: ReadonlySet<string>): string[] {
  const names = args.filter((a) => a.startsWith('--') && a !== '--').map((a) => a.slice(2).split('=')[0]);
  return names.filter((n) => !known.has(n) && !known.has(n.replace(/^no-/, '')));
}

export function usageError(message: string): never {
  process.stderr.write(`mx4map: ${message}\n`);
  process.exit(2);
}

/** Every command, in the order --help lists them; their names come from their own `command` strings. */
// biome-ignore lint/suspicious/noExplicitAny: each command module types its own arguments
const COMMAND_MODULES: readonly CommandModule<any, any>[] = [
  serveCommand,
  demoCommand,
  queryCommand,
  lookupCommand,
  replayCommand,
  exportCommand,
  statusCommand,
  learnCommand,
  checkConfigCommand,
  reloadCommand,
];
const COMMANDS: readonly string[] = COMMAND_MODULES.map((m) => String(m.command).split(' ')[0]);
const SWITCHES = new Set(OPTION_NAMES.filter((n) => (OPTIONS[n].kind as { isSwitch?: boolean }).isSwitch).map(flagName));
const TRUE = ['true', 'yes', 'on', '1'];
const FALSE = ['false', 'no', 'off', '0'];

/**
 * `--dry-run=yes` as the configuration file would read it: yargs turns any value of a boolean flag it does
 * not know into false, silently (`--dry-run=yes` was off). Values are rewritten to `--x` / `--no-x`, and
 * anything else is a usage error.
 */
export function normaliseSwitches(args: readonly string[]): string[] {
  return args.map((arg) => {
    const m = /^--([a-z0-9-]+)=(.*)$/.exec(arg);
    if (!m || !SWITCHES.has(m[1])) return arg;
    const value = m[2].trim().toLowerCase();
    if (TRUE.includes(value)) return `--${m[1]}`;
    if (FALSE.includes(value)) return `--no-${m[1]}`;
    return usageError(`--${m[1]} takes true or false (yes/no, on/off, 1/0), got "${m[2]}"`);
  });
}

/**
 * yargs renders a command's whole help text as soon as the command starts, in case the command shows it
 * later. None of ours does (--help is rendered when asked), and for `serve` that render — tens of
 * milliseconds for its fifty options — would run before the server listens.
 */
function skipHelpCache(parser: unknown): void {
  // getInternalMethods is public in yargs 17 but missing from its types.
  const internal = parser as { getInternalMethods?(): { getUsageInstance?(): { cacheHelpMessage?: () => void } } };
  const usage = internal.getInternalMethods?.().getUsageInstance?.();
  if (usage?.cacheHelpMessage) usage.cacheHelpMessage = () => undefined;
}

export async function main(input: string[]): Promise<void> {
  // A reader that goes away (`mx4map check-config | head -1`) ends the output, as for any Unix tool.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  const first = input.find((a) => !a.startsWith('-'));
  if (first !== undefined && input.indexOf(first) === 0 && !COMMANDS.includes(first)) {
    usageError(`unknown command "${first}": use ${COMMANDS.join(', ')} (see mx4map --help)`);
  }
  const args = normaliseSwitches(input);
  try {
    const parser = yargs(args);
    skipHelpCache(parser);
    await parser
      .scriptName('mx4map')
      .command(COMMAND_MODULES as CommandModule[])
      .demandCommand(1, `name a command: ${COMMANDS.slice(0, -1).join(', ')} or ${COMMANDS.at(-1)}`)
      .strict()
      .env(false)
      .parserConfiguration({ 'camel-case-expansion': false })
      .help()
      .alias('help', 'h')
      .version(`${VERSION} (Node.js ${process.versions.node})`)
      .wrap(Math.min(120, process.stdout.columns ?? 100))
      .fail((message, err) => {
        // yargs reports its own validation (a flag without its value, an unknown flag) as a YError.
        if (err && err.name !== 'YError') throw err;
        // getOptions is public in yargs 17 (the options of the command being run) but missing from its types.
        const known = new Set(Object.keys((parser as unknown as { getOptions(): { key: Record<string, unknown> } }).getOptions().key));
        const unknown = unknownFlags(args, known);
        const said = unknown.length
          ? `unknown flag${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `--${n}`).join(', ')}`
          : plainYargsMessage(message ?? err?.message ?? '');
        usageError(`${said} (see mx4map ${args[0] ?? ''} --help)`.replace('  --help', ' --help'));
      })
      .parseAsync();
  } catch (err) {
    if (err instanceof Mx4mapError) usageError(err.message);
    throw err;
  }
}
