/**
 * The README's "Verifying" example is what the real programs print: the demo serves, and each command of the
 * example runs — the real `sendmail -bt` on a .cf built from the snippet, the real `postmap -q`, `mx4map
 * query` — with the example's port swapped for the demo's. Lines shown as `…` are skipped.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, cleanEnv, runCliAsync } from '../support/cli';
import { postfixMissing, postmapQuery } from '../support/postfix';
import { describeRequiring } from '../support/requires';
import { buildSendmailRig, sendmailMissing } from '../support/sendmail';
import { until } from '../support/until';

interface Example {
  readonly command: string;
  /** For `sendmail -bt`: the lines typed at its prompt. */
  readonly typed: string[];
  /** Lines printed, in order; '…' stands for lines left out. */
  readonly printed: string[];
}

/** The commands of the README's Verifying block, each with what it types and prints. */
function verifyingExamples(): Example[] {
  const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('\n## Verifying\n'));
  const block = /```\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
  const examples: { command: string; typed: string[]; printed: string[] }[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith('$ ')) examples.push({ command: line.slice(2).replace(/\s+#.*$/, ''), typed: [], printed: [] });
    else if (line.startsWith('> ')) examples.at(-1)?.typed.push(line.slice(2));
    else if (line !== '') examples.at(-1)?.printed.push(line);
  }
  return examples;
}

const examples = verifyingExamples();
const example = (prefix: string): Example => {
  const found = examples.find((e) => e.command.startsWith(prefix));
  if (!found) throw new Error(`the README's Verifying block has no \`${prefix}\` example`);
  return found;
};

let demo: ChildProcess;
let port = 0;
beforeAll(async () => {
  let printed = '';
  demo = spawn(process.execPath, [CLI, 'demo', '--listen', 'inet:0@127.0.0.1'], { env: cleanEnv() });
  demo.stdout?.on('data', (d: Buffer) => (printed += d.toString()));
  await until(() => /serving on inet:\d+@/.test(printed), 15_000, 'the demo listening');
  port = Number(/serving on inet:(\d+)@/.exec(printed)?.[1]);
});
afterAll(() => demo.kill('SIGTERM'));

test('the block has the three commands and an answer under each', () => {
  for (const prefix of ['sendmail -bt', 'postmap -q', 'mx4map query']) expect(example(prefix).printed.length).toBeGreaterThan(0);
});

test('mx4map query prints exactly the example', async () => {
  const { command, printed } = example('mx4map query');
  const r = await runCliAsync(['query', '--connect', `inet:${port}@127.0.0.1`, ...command.split(' ').slice(2)]);
  expect(r.stdout).toBe(`${printed.join('\n')}\n`);
});

describeRequiring(postfixMissing(), 'the README postmap example')('postmap', () => {
  test('the real postmap -q prints exactly the example', async () => {
    const { command, printed } = example('postmap -q');
    const [, , key, table] = command.split(' ');
    expect((await postmapQuery(key, table.replace(':8425:', `:${port}:`))).stdout).toBe(`${printed.join('\n')}\n`);
  });
});

describeRequiring(sendmailMissing(), 'the README sendmail -bt example')('sendmail -bt', () => {
  test('the real sendmail -bt prints every line of the example, in order', async () => {
    const { typed, printed } = example('sendmail -bt');
    const rig = buildSendmailRig(`inet:${port}@127.0.0.1`);
    // sendmail prints its prompt before each answer's first line.
    const lines = (await rig.test(typed)).split('\n').map((l) => l.replace(/^> /, ''));
    let at = 0;
    for (const want of printed.filter((l) => l !== '…')) {
      const found = lines.indexOf(want, at);
      expect({ want, found: found >= 0 }).toEqual({ want, found: true });
      at = found + 1;
    }
  });
});
