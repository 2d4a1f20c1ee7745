/** Child processes for the scripts (bench, fuzz, soak): start one, read its CPU time, memory and metrics. */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface Started {
  readonly child: ChildProcess;
  readonly port: number;
  readonly http?: string;
  /** The connection cap the server derived (serve only). */
  readonly maxConnections?: number;
  readonly startMs: number;
}

/** Children still running when the script ends (finished, interrupted or failed) are stopped with it. */
const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

export function startProcess(
  args: string[],
  portOf: (line: Record<string, unknown>) => { port: number; http?: string; maxConnections?: number } | undefined,
): Promise<Started> {
  const t0 = performance.now();
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return new Promise((resolve, reject) => {
    let buffered = '';
    child.stdout?.on('data', (d: Buffer) => {
      buffered += d.toString();
      for (const line of buffered.split('\n').slice(0, -1)) {
        try {
          const found = portOf(JSON.parse(line) as Record<string, unknown>);
          if (found) {
            // Past the line we waited for, the output is drained unread (a fuzz run logs a lot).
            child.stdout?.removeAllListeners('data');
            child.stdout?.resume();
            return resolve({ child, ...found, startMs: performance.now() - t0 });
          }
        } catch {
          // not JSON: ignore
        }
      }
      buffered = buffered.slice(buffered.lastIndexOf('\n') + 1);
    });
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}`)));
  });
}

/** The built `mx4map serve` with these arguments, once it logs that it is listening. */
export function startServe(cli: string, args: string[]): Promise<Started> {
  return startProcess([cli, 'serve', ...args], (l) =>
    l.evt === 'listening'
      ? {
          port: Number(/:(\d+)@/.exec((l.listen as string[])[0])?.[1]),
          http: l.http as string | undefined,
          maxConnections: l.maxConnections as number | undefined,
        }
      : undefined,
  );
}

/** CPU seconds (user + system) a process has used, from /proc (clock ticks of 1/100 s on Linux). */
export function cpuSeconds(pid: number | undefined): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

export function rssMb(pid: number | undefined): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** The most resident memory a process has had (VmHWM), in MB. */
export function peakRssMb(pid: number | undefined): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Sums the samples of one metric (optionally only lines holding `labels`) from a /metrics endpoint. */
export async function metric(http: string | undefined, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`http://${http}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(name) && line.includes(labels) && !line.startsWith('#')) sum += Number(line.split(' ').pop());
  return sum;
}
