/**
 * A real systemd as PID 1: a minimal Debian root (scripts/systemd-root.sh builds it) booted with
 * systemd-nspawn. `--ephemeral` boots a throw-away copy, so the root stays pristine for the next run; the
 * container shares this host's network, so a DNS fixture and the clients of the test reach it on loopback.
 * Commands run inside through nsenter into all of PID 1's namespaces.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { until } from './until.js';

export const SYSTEMD_ROOT = process.env.MX4MAP_SYSTEMD_ROOT ?? '/var/cache/mx4map-test/systemd-root';

/** Why a real systemd cannot be booted here, or undefined. */
export function systemdContainerMissing(): string | undefined {
  if (process.getuid?.() !== 0) return 'booting a container needs root';
  if (spawnSync('systemd-nspawn', ['--version']).status !== 0) return 'systemd-nspawn is not installed (package systemd-container)';
  if (!existsSync(join(SYSTEMD_ROOT, 'usr', 'lib', 'systemd', 'systemd'))) return `no systemd root at ${SYSTEMD_ROOT} (scripts/systemd-root.sh builds it)`;
  return undefined;
}

export interface Result {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export class SystemdContainer {
  private constructor(
    private readonly nspawn: ChildProcess,
    /** PID 1 of the container, as this host sees it. */
    readonly pid: number,
  ) {}

  static async boot(): Promise<SystemdContainer> {
    const machine = `mx4map-test-${process.pid}`;
    const nspawn = spawn(
      'systemd-nspawn',
      ['--directory', SYSTEMD_ROOT, '--ephemeral', '--machine', machine, '--register=no', '--keep-unit', '--console=pipe', '--quiet', '--boot'],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    nspawn.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    let pid = 0;
    await until(
      () => {
        if (nspawn.exitCode !== null) throw new Error(`systemd-nspawn exited ${nspawn.exitCode}: ${stderr}`);
        pid = childSystemd(nspawn.pid ?? 0);
        return pid > 0;
      },
      30_000,
      'the container to start systemd',
    );
    const container = new SystemdContainer(nspawn, pid);
    await until(() => /^(running|degraded)$/m.test(container.run('systemctl', 'is-system-running').stdout), 60_000, 'the container to finish booting');
    return container;
  }

  /** A command inside the container. */
  run(...command: string[]): Result {
    const r = spawnSync('nsenter', ['--target', String(this.pid), '--all', '--', ...command], { encoding: 'utf8', timeout: 120_000 });
    return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  }

  /** A command that must succeed; its output. */
  must(...command: string[]): string {
    const r = this.run(...command);
    if (r.status !== 0) throw new Error(`${command.join(' ')} exited ${r.status}: ${r.stdout}${r.stderr}`);
    return r.stdout;
  }

  /** Where a path inside the container is, seen from here (files written there are seen inside). */
  path(inside: string): string {
    return `/proc/${this.pid}/root${inside}`;
  }

  /** Powers the container off (nspawn turns SIGTERM into a clean shutdown) and waits for nspawn to exit. */
  async shutdown(): Promise<void> {
    if (this.nspawn.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => this.nspawn.once('exit', () => resolve()));
    this.nspawn.kill('SIGTERM');
    const timer = setTimeout(() => this.nspawn.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(timer);
  }
}

/** The systemd process nspawn started (its child), or 0. */
function childSystemd(parent: number): number {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === parent && comm === 'systemd') return Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  return 0;
}
