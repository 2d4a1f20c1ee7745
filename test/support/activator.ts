/** Drives test/support/socket-activator.py: a stand-in for systemd's socket activation and readiness. */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { CLI, cleanEnv } from './cli.js';

const SCRIPT = join(__dirname, 'socket-activator.py');

export interface Activator {
  readonly child: ChildProcessWithoutNullStreams;
  /** Every JSON line: the activator's reports ({activator: true, event, …}) and the server's log lines. */
  readonly lines: Array<Record<string, unknown>>;
  /** host:port or path of the listening socket it holds. */
  readonly address: string;
  /** What the activator and the server wrote on standard error so far. */
  stderr(): string;
  send(command: 'start' | 'restart' | 'stop' | 'quit'): void;
  waitFor(check: (line: Record<string, unknown>) => boolean, ms?: number, from?: number): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

export async function startActivator(listen: string, serveArgs: string[]): Promise<Activator> {
  const child = spawn('python3', [SCRIPT, listen, process.execPath, CLI, 'serve', ...serveArgs], { env: cleanEnv() });
  const lines: Array<Record<string, unknown>> = [];
  let partial = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.on('data', (d: Buffer) => {
    partial += d.toString();
    const parts = partial.split('\n');
    partial = parts.pop() ?? '';
    for (const p of parts) if (p.trim()) lines.push(JSON.parse(p) as Record<string, unknown>);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const waitFor = async (check: (line: Record<string, unknown>) => boolean, ms = 10_000, from = 0): Promise<Record<string, unknown>> => {
    const until = Date.now() + ms;
    for (;;) {
      const hit = lines.slice(from).find(check);
      if (hit) return hit;
      if (Date.now() > until || child.exitCode !== null)
        throw new Error(`activator: nothing matched within ${ms} ms; stderr: ${stderr}; lines: ${JSON.stringify(lines.slice(-5))}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  const listening = await waitFor((l) => l.event === 'listening');
  return {
    child,
    lines,
    address: listening.address as string,
    stderr: () => stderr,
    send: (command) => void child.stdin.write(`${command}\n`),
    waitFor,
    async close() {
      if (child.exitCode === null) child.stdin.end('quit\n');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
