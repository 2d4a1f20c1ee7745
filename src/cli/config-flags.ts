/**
 * The configuration options as yargs flags, generated from the option table, and the way back from parsed
 * argv to raw option values. Flags carry no yargs defaults, so only what was typed overrides env and file.
 */
import type { Argv } from 'yargs';
import { OPTIONS, OPTION_NAMES, type OptionName, flagName } from '../config/options.js';
import type { RawValues } from '../config/load.js';

export function withConfigFlags(yargs: Argv, names: readonly OptionName[] = OPTION_NAMES): Argv {
  // yargs builders mutate and return the same instance.
  yargs.option('config', {
    type: 'string',
    describe: 'YAML configuration file (default /etc/mx4map/mx4map.yml when present; env MX4MAP_CONFIG)',
    requiresArg: true,
  });
  for (const name of names) {
    const spec = OPTIONS[name];
    const kind = spec.kind as { syntax: string; isSwitch?: boolean; isList?: boolean; show(v: unknown): string };
    // Lists are repeated flags (--dns A --dns B), never greedy arrays: a greedy --dns would swallow the
    // domain after it (`lookup --dns 127.0.0.1:53 example.com`).
    yargs.option(flagName(name), {
      describe: `${spec.describe} [${kind.syntax}; default: ${kind.show(spec.default)}]`,
      type: kind.isSwitch ? 'boolean' : kind.syntax === 'integer' ? 'number' : 'string',
      requiresArg: !kind.isSwitch,
      group: 'Configuration (also in the file and MX4MAP_* environment):',
    });
  }
  return yargs;
}

/** Options only a running server uses: `lookup` neither offers nor reads them. */
const SERVER_ONLY: ReadonlySet<OptionName> = new Set<OptionName>([
  'listen',
  'socketMode',
  'socketGroup',
  'maxConnections',
  'maxInFlight',
  'maxRequestBytes',
  'requestTimeout',
  'replyMaxAge',
  'idleTimeout',
  'shutdownGrace',
  'cacheSnapshotInterval',
  'http',
]);

/** The options that decide a domain and shape its answers: `lookup`'s flags. */
export const DECISION_OPTIONS: readonly OptionName[] = OPTION_NAMES.filter((n) => !SERVER_ONLY.has(n));

export function rawFlagValues(argv: Record<string, unknown>, names: readonly OptionName[] = OPTION_NAMES): RawValues {
  const out: RawValues = {};
  for (const name of names) {
    const value = argv[flagName(name)];
    if (value !== undefined) out[name] = value;
  }
  return out;
}
