/**
 * `mx4map demo`, as a newcomer runs it: the commands it prints give the answers it prints. The built CLI,
 * its own zone server and IPv6 greeters, and (where installed) netcat, the real postmap and the real sendmail.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { DEMO_ANSWERS } from '../../src/demo/demo-zone';
import { CLI, cleanEnv, runCliAsync } from '../support/cli';
import { postfixMissing, postmapQuery } from '../support/postfix';
import { REQUIRE_ALL, describeRequiring } from '../support/requires';
import { buildSendmailRig, mapResult, sendmailMissing } from '../support/sendmail';
import { until } from '../support/until';

let demo: ChildProcess;
let printed = '';
beforeAll(async () => {
  demo = spawn(process.execPath, [CLI, 'demo', '--listen', 'inet:0@127.0.0.1'], { env: cleanEnv() });
  demo.stdout?.on('data', (d: Buffer) => (printed += d.toString()));
  demo.stderr?.on('data', (d: Buffer) => (printed += d.toString()));
  await until(() => printed.includes('postmap -q'), 15_000, 'the demo instructions');
});
afterAll(() => demo.kill('SIGTERM'));

/** The first printed command that `matches` (a prefix, or a test of the line) and the answer printed under it. */
function tried(matches: string | ((line: string) => boolean)): { command: string; answer: string } {
  const lines = printed.split('\n');
  const test = typeof matches === 'string' ? (l: string) => l.trim().startsWith(matches) : matches;
  const at = lines.findIndex(test);
  return { command: lines[at].trim(), answer: lines[at + 1].replace(/^\s+→ /, '') };
}
const mx4map = (command: string): string[] => command.replace(/^mx4map /, '').split(' ');

test('the table lists every demo domain with the answer it gets', () => {
  for (const a of DEMO_ANSWERS)
    expect(printed).toMatch(new RegExp(`^  ${a.domain.replace(/\./g, '\\.')} +${a.reply.trim().replace(/[[\].]/g, '\\$&')} +\\S`, 'm'));
});

test('mx4map query for every domain gives the table, line by line', async () => {
  const r = await runCliAsync(mx4map(tried('mx4map query --connect').command));
  expect(r.stdout).toBe(DEMO_ANSWERS.map((a) => `${a.domain}\t${a.reply.trim()}\n`).join(''));
});

test('the transport map keeps the failover list, as printed', async () => {
  const { command, answer } = tried((l) => l.includes('--map transport'));
  expect((await runCliAsync(mx4map(command))).stdout).toBe(`${answer}\n`);
});

test('mx4map lookup against the demo DNS shows the trigger and the answer', async () => {
  const r = await runCliAsync(mx4map(tried('mx4map lookup').command));
  expect(r.stdout).toContain('decision    force-ipv4 (cname-mx)');
  expect(r.stdout).toMatch(/answer +mailertable +OK esmtp:\[192\.0\.2\.10\]/);
});

// Where nc or Postfix is missing these two are skipped, except in CI (MX4MAP_TEST_REQUIRE_ALL=1), which installs both.
const ncMissing = spawnSync('nc', ['-h']).error ? 'nc (netcat-openbsd) is not installed' : undefined;
(ncMissing && !REQUIRE_ALL ? test.skip : test)('the printed netcat command gives the printed netstring', () => {
  const { command, answer } = tried("printf '%s'");
  expect(spawnSync('sh', ['-c', command], { encoding: 'utf8', timeout: 5000 }).stdout).toBe(answer);
});

(postfixMissing() && !REQUIRE_ALL ? test.skip : test)('the real postmap -q gives the printed answer', async () => {
  const { command, answer } = tried('postmap -q');
  const [, , key, table] = command.split(' ');
  expect((await postmapQuery(key, table)).stdout.trim()).toBe(answer);
});

describeRequiring(sendmailMissing(), 'the demo sendmail -bt command')('sendmail -bt', () => {
  test('the printed /map command gives the printed map_lookup line with the real sendmail', async () => {
    const { command, answer } = tried((l) => l.includes('| sendmail -bt'));
    const typed = /^echo '([^']+)'/.exec(command)?.[1] ?? '';
    const spec = /wired to (\S+)/.exec(command)?.[1] ?? '';
    const output = await buildSendmailRig(spec).test([typed]);
    expect(mapResult(output)).toBe(answer);
  });
});
