/** Runs the real Postfix (unpacked by scripts/install-mtas.sh): `postmap -q` against a socketmap server, and a whole mail system. */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where scripts/install-mtas.sh unpacks Postfix; MX4MAP_TEST_POSTFIX_ROOT points elsewhere (an unpacked Debian postfix package). */
export const POSTFIX_ROOT = process.env.MX4MAP_TEST_POSTFIX_ROOT ?? '/opt/mx4map-test/postfix';
const POSTMAP = join(POSTFIX_ROOT, 'usr/sbin/postmap');
export const SNIPPET = join(__dirname, '..', '..', 'cf-snippets', 'postfix-main.cf');

export function postfixMissing(): string | undefined {
  return existsSync(POSTMAP) ? undefined : `postmap is not unpacked in ${POSTFIX_ROOT} (or set MX4MAP_TEST_POSTFIX_ROOT to where it is)`;
}

/** The table of the snippet's transport_maps line, pointed at `port` instead of the default. */
export function snippetTable(port: number): string {
  const line = readFileSync(SNIPPET, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('transport_maps = '));
  if (!line) throw new Error(`${SNIPPET} has no active transport_maps line`);
  return line.replace('transport_maps = ', '').replace(':8425:', `:${port}:`);
}

let configDir: string | undefined;

/** A minimal main.cf so postmap runs outside an installed Postfix. */
function config(): string {
  if (!configDir) {
    configDir = mkdtempSync(join(tmpdir(), 'mx4map-postfix-'));
    writeFileSync(join(configDir, 'main.cf'), 'mail_owner = daemon\nsetgid_group = mail\ncompatibility_level = 3.6\n');
  }
  return configDir;
}

export interface PostmapResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function postmapQuery(key: string, table: string): Promise<PostmapResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(POSTMAP, ['-c', config(), '-q', key, table], { env: { ...process.env, LD_LIBRARY_PATH: join(POSTFIX_ROOT, 'usr/lib/postfix') } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** Why a Postfix mail system cannot be run here, or undefined when it can. */
export function postfixDaemonMissing(): string | undefined {
  if (postfixMissing()) return postfixMissing();
  if (process.getuid?.() !== 0) return 'a Postfix master needs root';
  if (spawnSync('getent', ['passwd', 'postfix']).status !== 0 || spawnSync('getent', ['group', 'postdrop']).status !== 0)
    return 'the postfix user and postdrop group do not exist';
  if (spawnSync('unshare', ['-m', '-u', 'true']).status !== 0) return '`unshare -m -u` is not permitted here';
  return undefined;
}

export interface PostfixDaemon {
  /** The SMTP port its smtpd listens on (127.0.0.1). */
  readonly port: number;
  /** Its log (maillog_file) so far. */
  log(): string;
  /** Resolves once the log has a line matching `pattern` (after `from` characters). */
  waitForLog(pattern: RegExp, ms?: number, from?: number): Promise<string>;
  close(): Promise<void>;
}

/**
 * A whole Postfix mail system from the unpacked package, run as root in a private mount namespace (its own
 * resolv.conf naming `resolver`, a UTS namespace for its host name): master, smtpd on a test port, qmgr,
 * trivial-rewrite, cleanup, smtp, local, bounce — every service unchrooted, its queue, data, mail spool and
 * log (maillog_file) under /run. The smtp client delivers to `smtpPort`, where the test's sinks listen.
 * `main` lines are appended to main.cf (transport_maps, mydestination, …).
 */
export async function startPostfixDaemon(options: {
  resolver: string;
  smtpPort: number;
  hostname: string;
  main: string[];
  maillogPath?: string;
}): Promise<PostfixDaemon> {
  const dir = mkdtempSync('/run/mx4map-postfix-');
  chmodSync(dir, 0o755);
  for (const sub of ['conf', 'queue', 'data', 'spool']) mkdirSync(join(dir, sub));
  chownSync(join(dir, 'data'), Number(execFileSync('id', ['-u', 'postfix'], { encoding: 'utf8' })), -1);
  chmodSync(join(dir, 'spool'), 0o1777);
  writeFileSync(join(dir, 'resolv.conf'), `nameserver ${options.resolver}\noptions timeout:1 attempts:1\n`);
  const port = await freeLoopbackPort();
  // maillog_file must be under maillog_file_prefixes (/run).
  const maillog = options.maillogPath ?? join(dir, 'maillog');
  const main = [
    'compatibility_level = 3.6',
    'mail_owner = postfix',
    'setgid_group = postdrop',
    `myhostname = ${options.hostname}`,
    'inet_interfaces = 127.0.0.1',
    'inet_protocols = ipv4',
    `queue_directory = ${dir}/queue`,
    `data_directory = ${dir}/data`,
    `daemon_directory = ${POSTFIX_ROOT}/usr/lib/postfix/sbin`,
    `command_directory = ${POSTFIX_ROOT}/usr/sbin`,
    `shlib_directory = ${POSTFIX_ROOT}/usr/lib/postfix`,
    `meta_directory = ${POSTFIX_ROOT}/etc/postfix`,
    `maillog_file = ${maillog}`,
    'maillog_file_prefixes = /run',
    // The daemons find Postfix's private libraries through the environment master passes on.
    'import_environment = MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LANG=C LD_LIBRARY_PATH',
    'alias_maps =',
    'alias_database =',
    'local_recipient_maps =',
    `mail_spool_directory = ${dir}/spool`,
    'mynetworks = 127.0.0.0/8',
    'smtpd_relay_restrictions = permit_mynetworks, reject',
    `smtp_tcp_port = ${options.smtpPort}`,
    'smtp_tls_security_level = none',
    'biff = no',
    ...options.main,
  ];
  writeFileSync(join(dir, 'conf', 'main.cf'), `${main.join('\n')}\n`);
  const services = [
    `${port} inet n - n - - smtpd`,
    'pickup unix n - n 60 1 pickup',
    'cleanup unix n - n - 0 cleanup',
    'qmgr unix n - n 300 1 qmgr',
    'rewrite unix - - n - - trivial-rewrite',
    'bounce unix - - n - 0 bounce',
    'defer unix - - n - 0 bounce',
    'trace unix - - n - 0 bounce',
    'verify unix - - n - 1 verify',
    'flush unix n - n 1000? 0 flush',
    'proxymap unix - - n - - proxymap',
    'smtp unix - - n - - smtp',
    'relay unix - - n - - smtp',
    'showq unix n - n - - showq',
    'error unix - - n - - error',
    'retry unix - - n - - error',
    'discard unix - - n - - discard',
    'local unix - n n - - local',
    'anvil unix - - n - 1 anvil',
    'scache unix - - n - 1 scache',
    'postlog unix-dgram n - n - 1 postlogd',
  ];
  writeFileSync(join(dir, 'conf', 'master.cf'), `${services.join('\n')}\n`);
  const env = { ...process.env, LD_LIBRARY_PATH: join(POSTFIX_ROOT, 'usr/lib/postfix') };
  const postfix = join(POSTFIX_ROOT, 'usr/sbin/postfix');
  const script = `mount --bind "$1" /etc/resolv.conf && hostname "$2" && exec "$3" -c "$4" start-fg`;
  const child = spawn('unshare', ['-m', '-u', 'sh', '-c', script, 'sh', join(dir, 'resolv.conf'), options.hostname, postfix, join(dir, 'conf')], { env });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const log = (): string => {
    try {
      return readFileSync(maillog, 'utf8');
    } catch {
      return '';
    }
  };
  const waitForLog = async (pattern: RegExp, ms = 20_000, from = 0): Promise<string> => {
    const until = Date.now() + ms;
    for (;;) {
      const m = pattern.exec(log().slice(from));
      if (m) return m[0];
      if (Date.now() > until || child.exitCode !== null)
        throw new Error(`Postfix log has no ${pattern} within ${ms} ms; output: ${output}; log: ${log().slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  await waitForLog(/postfix\/master\[\d+\]: daemon started/);
  return {
    port,
    log,
    waitForLog,
    async close() {
      spawnSync(postfix, ['-c', join(dir, 'conf'), 'stop'], { env });
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
