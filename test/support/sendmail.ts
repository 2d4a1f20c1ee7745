/**
 * Drives the real sendmail in address-test mode (`sendmail -bt`) against a test .cf built by m4 from
 * Debian's sendmail-cf and the FEATURE line of cf-snippets/sendmail.mc.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
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
  const line = readFileSync(SNIPPET, 'utf8').split('\n').find((l) => l.startsWith('FEATURE(`mailertable'));
  if (!line) throw new Error(`${SNIPPET} has no active FEATURE(\`mailertable' …) line`);
  return line.replace(/inet:\d+@127\.0\.0\.1|unix:\S+?(?=')/, spec);
}

export interface SendmailRig {
  readonly cf: string;
  /** Runs rule-testing commands (one per line) and returns sendmail's output. Asynchronous: the server under
   * test may live in this process and must keep answering while sendmail waits. */
  test(commands: string[], options?: { allowFailure?: boolean }): Promise<string>;
}

/** The K lines of cf-snippets/sendmail-with-static.cf, pointed at `spec` and at a static map in `dir`. */
export function staticCombinedLines(spec: string, staticMap: string): string[] {
  const text = readFileSync(join(__dirname, '..', '..', 'cf-snippets', 'sendmail-with-static.cf'), 'utf8');
  return text
    .split('\n')
    .filter((l) => l.startsWith('K'))
    .map((l) => l.replace('inet:8425@127.0.0.1', spec).replace('/etc/mail/mailertable', staticMap));
}

/**
 * Builds the test .cf. `replaceMapLines` swaps the generated `Kmailertable` line for others (the hand-edited
 * sendmail.cf case).
 */
export function buildSendmailRig(spec: string, replaceMapLines?: (dir: string) => string[]): SendmailRig {
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
    `define(\`confQUEUE_DIR', \`${dir}/queue')dnl`,
    "define(`confDONT_PROBE_INTERFACES', `True')dnl",
    snippetFeatureLine(spec),
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
  return output.split('\n').find((l) => l.includes('map_lookup:'))?.replace(/^>\s*/, '');
}
