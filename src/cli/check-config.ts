import { statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Endpoint } from '../protocol/endpoint.js';
import type { CommandModule } from 'yargs';
import { OPTION_NAMES, fileKey } from '../config/options.js';
import { configFileRead, loadConfig, showOption } from '../config/load.js';
import { connectionCap, describeCap, openFileLimit } from '../app/descriptors.js';
import { rawFlagValues, withConfigFlags } from './config-flags.js';
import { preflight } from '../app/preflight.js';
import { discoverIpv6Source } from '../identity/source-address.js';
import { trustAdProblem } from '../app/assemble.js';
import { selinuxEnforcing, selinuxSocketWarning } from '../app/selinux.js';

/** Directories of UNIX listen sockets that others may write to (sendmail will not connect to a socket map there). */
function writableSocketDirectories(listen: readonly Endpoint[]): string[] {
  const dirs = new Set<string>();
  for (const e of listen) {
    if (e.kind !== 'unix') continue;
    try {
      if ((statSync(dirname(e.path)).mode & 0o022) !== 0) dirs.add(dirname(e.path));
    } catch {
      // A directory that does not exist yet is preflight's to report.
    }
  }
  return [...dirs];
}

export const checkConfigCommand: CommandModule = {
  command: 'check-config',
  describe: 'Validate the configuration and print the effective values',
  builder: (yargs) => withConfigFlags(yargs),
  handler: async (argv) => {
    const config = loadConfig(rawFlagValues(argv), argv.config as string | undefined);
    // The same checks serve makes before it listens: "configuration OK" means it will start.
    const problems = await preflight(config);
    if (problems.length > 0) {
      for (const problem of problems) process.stderr.write(`mx4map: ${problem}\n`);
      process.exit(2);
    }
    const width = Math.max(...OPTION_NAMES.map((n) => fileKey(n).length));
    const file = configFileRead(argv.config as string | undefined);
    process.stdout.write(`${'(file)'.padEnd(width)}  ${file ?? 'none (defaults, MX4MAP_* variables and flags only)'}\n`);
    for (const name of OPTION_NAMES) process.stdout.write(`${fileKey(name).padEnd(width)}  ${showOption(name, config)}\n`);
    // Derived from the machine, as serve will see it when started the same way.
    const cap = connectionCap(config, openFileLimit());
    process.stdout.write(`${'(connection cap)'.padEnd(width)}  ${describeCap(cap)}\n`);
    if (cap.warning) process.stdout.write(`warning: ${cap.warning}\n`);
    const unready = config.triggers.includes('sender-ipv6-unready');
    if (unready && config.ipv6Source.length === 0) {
      const found = await discoverIpv6Source();
      process.stdout.write(
        `${'(ipv6 source)'.padEnd(width)}  ${found ? `${found} (the kernel's choice; serve checks its PTR)` : 'none found: sender-ipv6-unready stays inert'}\n`,
      );
    }
    if (!unready && config.ipv6Source.length > 0)
      process.stdout.write('warning: ipv6_source is set but sender-ipv6-unready is not in triggers: its reverse DNS is not checked\n');
    const trustAd = trustAdProblem(config);
    if (trustAd) process.stdout.write(`warning: ${trustAd}\n`);
    for (const dir of writableSocketDirectories(config.listen))
      process.stdout.write(
        `warning: the UNIX socket directory ${dir} is group- or world-writable: sendmail refuses a socket map there (its safe-file checks); use a directory only mx4map can write, such as /run/mx4map\n`,
      );
    const unixSockets = config.listen.flatMap((e) => (e.kind === 'unix' ? [e.path] : []));
    const selinux = selinuxSocketWarning(unixSockets, selinuxEnforcing());
    if (selinux) process.stdout.write(`warning: ${selinux}\n`);
    process.stdout.write('configuration OK\n');
  },
};
