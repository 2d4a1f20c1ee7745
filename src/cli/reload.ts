/**
 * `mx4map reload --pid PID`: what `systemctl reload` runs (ExecReload), so that a reload that fails is
 * reported as failed. It checks the configuration as the daemon will (one line naming what to fix, exit 2,
 * and the daemon is not disturbed), sends SIGHUP, and where the ops listener is configured waits for the
 * daemon to count the reload: exit 1 with the daemon's reason when it failed there, 0 when it worked.
 */
import type { CommandModule } from 'yargs';
import { loadPatternLists } from '../app/assemble.js';
import { systemProblems } from '../app/preflight.js';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/options.js';
import { ClientError, ConfigError } from '../errors.js';
import { httpBaseUrl } from '../ops/http.js';
import { rawFlagValues, withConfigFlags } from './config-flags.js';

/** Longest wait for the daemon to count the reload (it reads files in slices; it never takes this long). */
const OUTCOME_WAIT_MS = 30_000;
const POLL_MS = 100;

interface Counted {
  readonly succeeded: number;
  readonly failed: number;
}

/** The daemon's reload counts from /metrics, or undefined when they cannot be read. */
async function countedReloads(base: string): Promise<Counted | undefined> {
  try {
    const text = await (await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(2000) })).text();
    const count = (result: string): number | undefined => {
      const m = new RegExp(`^mx4map_config_reloads_total\\{result="${result}"\\} (\\d+)$`, 'm').exec(text);
      return m ? Number(m[1]) : undefined;
    };
    const succeeded = count('succeeded');
    const failed = count('failed');
    return succeeded === undefined || failed === undefined ? undefined : { succeeded, failed };
  } catch {
    return undefined;
  }
}

/** The daemon's reason for the failed reload, from /healthz. */
async function failureReason(base: string): Promise<string> {
  try {
    const text = await (await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(2000) })).text();
    return /^last reload failed at \S+: (.*?); serving the configuration loaded before$/m.exec(text)?.[1] ?? 'see its log';
  } catch {
    return 'see its log';
  }
}

function signal(pid: number): void {
  try {
    process.kill(pid, 'SIGHUP');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ClientError(code === 'ESRCH' ? `no process ${pid} to reload` : `cannot signal process ${pid}: ${code ?? String(err)}`);
  }
}

/** The configuration as the daemon's reload will check it (listeners are kept on reload, so not theirs). */
async function checkedConfig(argv: { config?: unknown; [flag: string]: unknown }): Promise<Config> {
  try {
    const config = loadConfig(rawFlagValues(argv), argv.config as string | undefined);
    const problems = await systemProblems(config, { activated: true });
    if (problems.length > 0) throw new ConfigError(problems.join('; '));
    loadPatternLists(config);
    return config;
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(`${err.message}; not reloaded, the running configuration is kept`);
    throw err;
  }
}

export const reloadCommand: CommandModule = {
  command: 'reload',
  describe: 'Check the configuration, reload the running daemon (SIGHUP) and report whether the reload worked',
  builder: (yargs) =>
    withConfigFlags(yargs).option('pid', {
      type: 'number',
      demandOption: true,
      requiresArg: true,
      describe: "the daemon's process id (systemd: $MAINPID)",
    }),
  handler: async (argv) => {
    const pid = argv.pid as number;
    if (!Number.isInteger(pid) || pid <= 1) throw new ConfigError(`--pid takes the daemon's process id, got "${String(argv.pid)}"`);
    const config = await checkedConfig(argv);
    const base = config.http ? httpBaseUrl(config.http.spec) : undefined;
    const before = base ? await countedReloads(base) : undefined;
    signal(pid);
    if (!base || !before) return;
    const started = Date.now();
    while (Date.now() - started < OUTCOME_WAIT_MS) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      const now = await countedReloads(base);
      if (!now) continue;
      if (now.failed > before.failed) {
        process.stderr.write(`mx4map: the reload failed in process ${pid}: ${await failureReason(base)}; the running configuration is kept\n`);
        process.exit(1);
      }
      if (now.succeeded > before.succeeded) return;
    }
    process.stderr.write(`mx4map: process ${pid} was signalled, but did not report the reload within ${OUTCOME_WAIT_MS / 1000} s\n`);
    process.exit(1);
  },
};
