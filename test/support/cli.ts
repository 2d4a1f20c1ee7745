/** Runs the built CLI (dist/) as a separate process, the way an administrator or systemd would. */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const CLI = join(__dirname, '..', '..', 'dist', 'index.js');

function requireBuild(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" first (npm test does it)`);
}

/** Environment for child processes: the caller's, minus any MX4MAP_* that would leak into the test. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('MX4MAP_')) env[k] = v;
  // Never the machine's /etc/mx4map/mx4map.yml (the package test installs one): only what a test gives.
  return { ...env, MX4MAP_CONFIG: '', ...extra };
}

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], env: Record<string, string> = {}): RunResult {
  requireBuild();
  const r = spawnSync(process.execPath, [CLI, ...args], { env: cleanEnv(env), encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs the CLI with its open-file limit set to `files`, soft and hard (Node raises its soft limit to the hard one at start). */
export function runCliUnderLimit(args: string[], files: number, env: Record<string, string> = {}): RunResult {
  requireBuild();
  const r = spawnSync('prlimit', [`--nofile=${files}:${files}`, '--', process.execPath, CLI, ...args], {
    env: cleanEnv(env),
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs the built CLI; `stdin`, when given, is written to its standard input (else it gets none). */
export function runCliAsync(args: string[], env: Record<string, string> = {}, stdin?: string): Promise<RunResult> {
  requireBuild();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: cleanEnv(env) });
    child.stdin.end(stdin ?? '');
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

export interface ServeProcess {
  readonly child: ChildProcessWithoutNullStreams;
  readonly port: number;
  readonly bound: string[];
  /** Every JSON log line so far. */
  readonly lines: Array<Record<string, unknown>>;
  readonly stderr: () => string;
  waitFor(evt: string, ms?: number): Promise<Record<string, unknown>>;
  exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}

export interface ServeOptions {
  /** Run under this open-file limit, soft and hard (prlimit execs the server: the pid is the server's). */
  readonly fileLimit?: number;
  /** Run this mx4map executable (the packaged one) instead of the built CLI under the test's Node. */
  readonly executable?: string;
}

/** Starts `mx4map serve` and resolves once it logs that it is listening. */
export function startServe(args: string[], env: Record<string, string> = {}, options: ServeOptions = {}): Promise<ServeProcess> {
  if (!options.executable) requireBuild();
  const command = [...(options.executable ? [options.executable] : [process.execPath, CLI]), 'serve', ...args];
  const child = options.fileLimit
    ? spawn('prlimit', [`--nofile=${options.fileLimit}:${options.fileLimit}`, '--', ...command], { env: cleanEnv(env) })
    : spawn(command[0], command.slice(1), { env: cleanEnv(env) });
  const lines: Array<Record<string, unknown>> = [];
  let stderr = '';
  let partial = '';
  const listeners: Array<() => void> = [];
  child.stdout.on('data', (d: Buffer) => {
    partial += d.toString();
    const parts = partial.split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
    for (const l of [...listeners]) l();
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));

  const waitFor = (evt: string, ms = 10_000): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const seen = (): Record<string, unknown> | undefined => lines.find((l) => l.evt === evt);
      const timer = setTimeout(() => reject(new Error(`no "${evt}" log line within ${ms} ms; stderr: ${stderr}; stdout: ${JSON.stringify(lines)}`)), ms);
      const check = (): void => {
        const hit = seen();
        if (hit) {
          clearTimeout(timer);
          listeners.splice(listeners.indexOf(check), 1);
          resolve(hit);
        }
      };
      listeners.push(check);
      void exit.then(() => {
        if (!seen()) {
          clearTimeout(timer);
          reject(new Error(`serve exited before "${evt}"; stderr: ${stderr}`));
        }
      });
      check();
    });

  return waitFor('listening').then((line) => {
    const bound = line.listen as string[];
    const port = Number(/^inet6?:(\d+)@/.exec(bound.find((b) => b.startsWith('inet')) ?? '')?.[1] ?? NaN);
    return {
      child,
      port,
      bound,
      lines,
      stderr: () => stderr,
      waitFor,
      exited: () => exit,
      async stop() {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        await exit;
      },
    };
  });
}
