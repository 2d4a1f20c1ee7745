/** Runs the real Postfix `postmap -q` (unpacked by scripts/install-mtas.sh) against a socketmap server. */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const POSTFIX_ROOT = '/opt/mx4map-test/postfix';
const POSTMAP = join(POSTFIX_ROOT, 'usr/sbin/postmap');
export const SNIPPET = join(__dirname, '..', '..', 'cf-snippets', 'postfix-main.cf');

export function postfixMissing(): string | undefined {
  return existsSync(POSTMAP) ? undefined : `postmap is not unpacked in ${POSTFIX_ROOT}`;
}

/** The table of the snippet's transport_maps line, pointed at `port` instead of the default. */
export function snippetTable(port: number): string {
  const line = readFileSync(SNIPPET, 'utf8').split('\n').find((l) => l.startsWith('transport_maps = '));
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
