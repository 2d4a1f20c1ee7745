/**
 * Drives the real sendmail in address-test mode (`sendmail -bt`) against a test .cf built by m4 from
 * Debian's sendmail-cf and the FEATURE line of cf-snippets/sendmail.mc.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { freePort } from './free-port';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CF_ROOT = '/usr/share/sendmail/cf';
export const SNIPPET = join(__dirname, '..', '..', 'cf-snippets', 'sendmail.mc');
/** sendmail -bt sleeps 60 s on an unqualified host name, so it runs with a qualified one in its own UTS namespace. */
const TEST_HOSTNAME = 'mx4map-test.example';

/** Why the sendmail tests cannot run here, or undefined when they can. */
export function sendmailMissing(): string | undefined {
  if (!existsSync('/usr/sbin/sendmail') || !existsSync(join(CF_ROOT, 'm4', 'cf.m4'))) return 'sendmail-bin and sendmail-cf are not installed';
  if (spawnSync('m4', ['--version']).status !== 0) return 'm4 is not installed';
  if (process.getuid?.() !== 0) return 'sendmail -bt runs under `unshare -u`, which needs root';
  if (spawnSync('unshare', ['-u', 'true']).status !== 0) return '`unshare -u` is not permitted here';
  return undefined;
}

/** The FEATURE(`mailertable', …) line of the snippet, pointed at `spec` instead of the default endpoint. */
export function snippetFeatureLine(spec: string): string {
  const line = readFileSync(SNIPPET, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('FEATURE(`mailertable'));
  if (!line) throw new Error(`${SNIPPET} has no active FEATURE(\`mailertable' …) line`);
  return line.replace(/inet:\d+@127\.0\.0\.1|unix:\S+?(?=')/, spec);
}

export interface SendmailRig {
  readonly cf: string;
  /** Runs rule-testing commands (one per line) and returns sendmail's output. Asynchronous: the server under
   * test may live in this process and must keep answering while sendmail waits. */
  test(commands: string[], options?: { allowFailure?: boolean }): Promise<string>;
}

/** The lines of a static-plus-live snippet that `keep` selects, pointed at `spec` and at the static map `staticMap`. */
function snippetLines(file: string, keep: (line: string) => boolean, spec: string, staticMap: string): string[] {
  return readFileSync(join(__dirname, '..', '..', 'cf-snippets', file), 'utf8')
    .split('\n')
    .filter(keep)
    .map((l) => l.replace('inet:8425@127.0.0.1', spec).replace('/etc/mail/mailertable', staticMap));
}

/** The K lines of cf-snippets/sendmail-with-static.cf. */
export function staticCombinedLines(spec: string, staticMap: string): string[] {
  return snippetLines('sendmail-with-static.cf', (l) => l.startsWith('K'), spec, staticMap);
}

/** The lines of cf-snippets/sendmail-with-static.mc that go into sendmail.mc (all but comments). */
export function staticCombinedMcLines(spec: string, staticMap: string): string[] {
  return snippetLines('sendmail-with-static.mc', (l) => l !== '' && !l.startsWith('dnl'), spec, staticMap);
}

/**
 * Builds the test .cf. `replaceMapLines` swaps the generated `Kmailertable` line for others (the hand-edited
 * sendmail.cf case); `mcMapLines` replace the snippet's FEATURE line in the .mc.
 */
export function buildSendmailRig(spec: string, replaceMapLines?: (dir: string) => string[], mcMapLines?: string[]): SendmailRig {
  const dir = mkdtempSync(join(tmpdir(), 'mx4map-sendmail-'));
  mkdirSync(join(dir, 'queue'));
  writeFileSync(join(dir, 'service.switch'), 'hosts files\naliases files\n');
  writeFileSync(join(dir, 'hosts'), `127.0.0.1 localhost ${TEST_HOSTNAME}\n`);
  const mc = [
    'divert(0)dnl',
    `include(\`${CF_ROOT}/m4/cf.m4')dnl`,
    "OSTYPE(`linux')dnl",
    `define(\`confSERVICE_SWITCH_FILE', \`${dir}/service.switch')dnl`,
    `define(\`confHOSTS_FILE', \`${dir}/hosts')dnl`,
    `define(\`QUEUE_DIR', \`${dir}/queue')dnl`,
    "define(`confDONT_PROBE_INTERFACES', `True')dnl",
    ...(mcMapLines ?? [snippetFeatureLine(spec)]),
    "MAILER(`local')dnl",
    "MAILER(`smtp')dnl",
    '',
  ].join('\n');
  writeFileSync(join(dir, 'test.mc'), mc);
  const cf = join(dir, 'test.cf');
  let text = execFileSync('m4', [join(dir, 'test.mc')], { encoding: 'utf8' });
  if (replaceMapLines) text = text.replace(/^Kmailertable .*$/m, replaceMapLines(dir).join('\n'));
  writeFileSync(cf, text);
  return {
    cf,
    test(commands, options = {}) {
      return new Promise((resolve, reject) => {
        const child = spawn('unshare', ['-u', 'sh', '-c', `hostname ${TEST_HOSTNAME} && exec /usr/sbin/sendmail -C "$0" -bt`, cf]);
        let stdout = '';
        let stderr = '';
        const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('error', reject);
        child.on('close', (status) => {
          clearTimeout(timer);
          if (status === 0 || options.allowFailure) resolve(stdout + stderr);
          else reject(new Error(`sendmail -bt failed (${status}): ${stderr}`));
        });
        child.stdin.end(`${commands.join('\n')}\n`);
      });
    },
  };
}

/** The mailer triple ruleset 0 (`3,0`) resolved an address to, e.g. "$# esmtp $@ [ 192 . 0 . 2 . 1 ] $: …". */
export function resolvedTriple(output: string): string | undefined {
  const lines = output.split('\n').filter((l) => /^parse\s+returns:/.test(l));
  return lines.pop()?.replace(/^parse\s+returns:\s*/, '');
}

/** The `/map` result line, e.g. "map_lookup: mailertable (example.com) returns esmtp:[192.0.2.1] (0)". */
export function mapResult(output: string): string | undefined {
  return output
    .split('\n')
    .find((l) => l.includes('map_lookup:'))
    ?.replace(/^>\s*/, '');
}

export interface SendmailDaemon {
  /** The SMTP port it listens on (127.0.0.1). */
  readonly port: number;
  /** What sendmail printed (it logs to syslog; this is only what reaches stdout and stderr). */
  output(): string;
  /** Its syslog lines so far, as a maillog holds them. */
  maillog(): string;
  /** The file those lines are appended to (what `delivery_log` follows). */
  readonly maillogPath: string;
  /** One queue run (`sendmail -q`) inside the daemon's namespaces (its resolv.conf and syslog); resolves when it ends. */
  runQueue(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The real sendmail as an SMTP daemon (`sendmail -bD`), the way a mail host runs it: the snippet's
 * FEATURE(mailertable) line pointed at `mapSpec`, its own resolv.conf naming `resolver` (bind-mounted in a
 * private mount namespace, so MX lookups reach the test's DNS), and the esmtp mailer delivering to
 * `mailerPort` (where the test's SMTP sinks listen). Its files live under /run: sendmail refuses a queue
 * in a world-writable tree such as /tmp. Needs root.
 */
export async function startSendmailDaemon(options: { mapSpec: string; resolver: string; mailerPort: number; maillogPath?: string }): Promise<SendmailDaemon> {
  const dir = mkdtempSync('/run/mx4map-sendmail-');
  mkdirSync(join(dir, 'queue'), { mode: 0o700 });
  writeFileSync(join(dir, 'service.switch'), 'hosts files dns\naliases files\n');
  writeFileSync(join(dir, 'hosts'), `127.0.0.1 localhost ${TEST_HOSTNAME}\n`);
  writeFileSync(join(dir, 'resolv.conf'), `nameserver ${options.resolver}\noptions timeout:1 attempts:1\n`);
  const port = await freePort();
  const mc = [
    'divert(0)dnl',
    `include(\`${CF_ROOT}/m4/cf.m4')dnl`,
    "OSTYPE(`linux')dnl",
    `define(\`confSERVICE_SWITCH_FILE', \`${dir}/service.switch')dnl`,
    `define(\`confHOSTS_FILE', \`${dir}/hosts')dnl`,
    `define(\`QUEUE_DIR', \`${dir}/queue')dnl`,
    `define(\`confPID_FILE', \`${dir}/sendmail.pid')dnl`,
    "define(`confDONT_PROBE_INTERFACES', `True')dnl",
    "define(`confDELIVERY_MODE', `interactive')dnl",
    "define(`ALIAS_FILE', `')dnl",
    `define(\`ESMTP_MAILER_ARGS', \`TCP $h ${options.mailerPort}')dnl`,
    `DAEMON_OPTIONS(\`Port=${port}, Addr=127.0.0.1, Name=MTA')dnl`,
    "FEATURE(`nocanonify')dnl",
    "FEATURE(`accept_unresolvable_domains')dnl",
    "FEATURE(`promiscuous_relay')dnl",
    snippetFeatureLine(options.mapSpec),
    "MAILER(`local')dnl",
    "MAILER(`smtp')dnl",
    '',
  ].join('\n');
  writeFileSync(join(dir, 'daemon.mc'), mc);
  const cf = join(dir, 'daemon.cf');
  // promiscuous_relay makes m4 warn on stderr: a test host relays for its test client only.
  writeFileSync(cf, execFileSync('m4', [join(dir, 'daemon.mc')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
  // sendmail logs only to syslog: a catcher on /dev/log keeps its lines as a maillog (replay reads it).
  const syslog = await catchSyslog(dir, options.maillogPath);
  const bindLog = syslog.socket === '/dev/log' ? '' : `mount --bind "${syslog.socket}" /dev/log && `;
  const script = `mount --bind "$1" /etc/resolv.conf && ${bindLog}hostname ${TEST_HOSTNAME} && exec /usr/sbin/sendmail -C "$2" -bD`;
  const child = spawn('unshare', ['-m', '-u', 'sh', '-c', script, 'sh', join(dir, 'resolv.conf'), cf]);
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitForPort(
    port,
    15_000,
    () => child.exitCode !== null,
    () => output,
  );
  return {
    port,
    output: () => output,
    maillog: () => (existsSync(syslog.file) ? readFileSync(syslog.file, 'utf8') : ''),
    maillogPath: syslog.file,
    runQueue: () =>
      new Promise<void>((resolve, reject) => {
        const run = spawn('nsenter', ['-t', String(child.pid), '-m', '-u', '/usr/sbin/sendmail', '-C', cf, '-q']);
        run.on('error', reject);
        run.on('exit', () => resolve());
      }),
    async close() {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
      syslog.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A syslog stand-in (syslog-catcher.py) for sendmail's log lines. Where the machine has no /dev/log (a CI
 * sandbox runs no syslogd) it is bound there for the test's duration and removed after; otherwise it is
 * bound in `dir` and mounted over /dev/log inside sendmail's mount namespace only.
 */
async function catchSyslog(dir: string, maillogPath?: string): Promise<{ socket: string; file: string; close(): void }> {
  const socket = existsSync('/dev/log') ? join(dir, 'log') : '/dev/log';
  const file = maillogPath ?? join(dir, 'maillog');
  const catcher = spawn('python3', [join(__dirname, 'syslog-catcher.py'), socket, file, 'mx'], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    catcher.stdout.once('data', () => resolve());
    catcher.once('exit', (code) => reject(new Error(`syslog catcher exited with ${code}`)));
  });
  return {
    socket,
    file,
    close() {
      catcher.kill('SIGKILL');
      if (socket === '/dev/log') rmSync(socket, { force: true });
    },
  };
}

async function waitForPort(port: number, ms: number, gone: () => boolean, output: () => string): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    const up = await new Promise<boolean>((resolve) => {
      const s = connect({ port, host: '127.0.0.1' });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (up) return;
    if (gone() || Date.now() > until) throw new Error(`sendmail -bD did not listen on ${port}: ${output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
