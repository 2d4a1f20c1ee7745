/**
 * The README's example log lines are what serve writes: each one, found by its event, has the fields serve
 * writes for that event in the order it writes them, and its message starts the same way. serve runs against
 * the demo zone; its JSON lines go through the text formatter log_format: text uses (log-text.ts).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEMO_ZONE } from '../../src/demo/demo-zone';
import { type ZoneServer, startZoneServer } from '../../src/demo/zone-server';
import { textLine } from '../../src/log-text';
import { type ServeProcess, runCliAsync, startServe } from '../support/cli';

const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
const section = readme.slice(readme.indexOf('### Logs\n'));
const examples = (/```\n([\s\S]*?)```/.exec(section)?.[1] ?? '').split('\n').filter(Boolean);

/** The message (up to the first field) and the field names of a text line. */
function shape(line: string): { opening: string; keys: string[] } {
  const body = line.replace(/^(<\d>)?(\S+Z )?/, '');
  const at = body.indexOf(' evt=');
  const fields = body.slice(at + 1);
  return { opening: body.slice(0, at).split(/[ ;:]/).slice(0, 3).join(' '), keys: [...fields.matchAll(/(?:^| )([A-Za-z]+)=/g)].map((m) => m[1]) };
}

let zone: ZoneServer;
let serve: ServeProcess;
beforeAll(async () => {
  zone = await startZoneServer(DEMO_ZONE);
  const config = join(mkdtempSync(join(tmpdir(), 'mx4map-logs-')), 'mx4map.yml');
  writeFileSync(config, 'http: 127.0.0.1:0\n');
  serve = await startServe(['--config', config, '--listen', 'inet:0@127.0.0.1', '--dns', zone.spec, '--probe-timeout', '200']);
  await runCliAsync(['query', '--connect', `inet:${serve.port}@127.0.0.1`, 'cname-mx.demo', 'dead-v6.demo', 'sts.demo']);
  serve.child.kill('SIGHUP');
  await serve.waitFor('reloaded');
  writeFileSync(config, 'http: 127.0.0.1:0\ndeadline: forever\n');
  serve.child.kill('SIGHUP');
  await serve.waitFor('reload-failed');
  serve.child.kill('SIGTERM');
  await serve.exited();
});
afterAll(() => zone.close());

test('the README shows the start, decisions, reloads and the stop', () => {
  expect(examples.map((l) => /evt=(\S+)/.exec(l)?.[1])).toEqual(['listening', 'decision', 'decision', 'decision', 'reloaded', 'reload-failed', 'stopped']);
});

test.each(examples.map((l, i) => [i, l]))('example line %i has the fields and the opening serve writes', (_i, example) => {
  const evt = /evt=(\S+)/.exec(example as string)?.[1];
  const domain = /domain=(\S+)/.exec(example as string)?.[1];
  const written = serve.lines.find((l) => l.evt === evt && (domain === undefined || l.domain === domain));
  expect(written).toBeDefined();
  const actual = shape(textLine(JSON.stringify(written), true));
  expect(shape(example as string)).toEqual(actual);
});
