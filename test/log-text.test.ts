import { closeSync, mkdtempSync, openSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../src/log';
import { isJournalStream, textLine } from '../src/log-text';

const json = (entry: Record<string, unknown>): string => `${JSON.stringify(entry)}\n`;

test('a line for mail.log: time, level, message, then the fields as key=value', () => {
  const line = textLine(
    json({ level: 'warn', time: '2026-12-04T10:00:00.000Z', pid: 7, evt: 'reload-failed', error: 'bad value', n: 3, msg: 'reload failed' }),
    false,
  );
  expect(line).toBe('2026-12-04T10:00:00.000Z warn: reload failed evt=reload-failed error="bad value" n=3\n');
});

test('under journald: the sd-daemon priority prefix, no time or pid (the journal has them)', () => {
  expect(textLine(json({ level: 'warn', time: 't', pid: 7, msg: 'm' }), true)).toBe('<4>warn: m\n');
  expect(textLine(json({ level: 'info', time: 't', msg: 'm' }), true)).toBe('<6>info: m\n');
  expect(textLine(json({ level: 'error', msg: 'm' }), true)).toBe('<3>error: m\n');
  expect(textLine(json({ level: 'fatal', msg: 'm' }), true)).toBe('<2>fatal: m\n');
  expect(textLine(json({ level: 'debug', msg: 'm' }), true)).toBe('<7>debug: m\n');
});

test('values that could be misread are quoted; lists and objects are JSON; a line never splits', () => {
  const line = textLine(json({ level: 'info', msg: 'two\nlines', a: '', b: 'x=y', c: 'say "hi"', d: ['inet:1@h'], e: { k: 1 }, f: null, g: true }), true);
  expect(line).toBe('<6>info: two lines a="" b="x=y" c="say \\"hi\\"" d=["inet:1@h"] e={"k":1} f=null g=true\n');
  expect(line.split('\n')).toHaveLength(2);
});

test('a line that is not a JSON object passes as it is', () => {
  expect(textLine('not json\n', true)).toBe('not json\n');
  expect(textLine('[1,2]\n', true)).toBe('[1,2]\n');
});

test('the journal stream is recognised by its device and inode, and nothing else is', () => {
  const path = join(mkdtempSync(join(tmpdir(), 'mx4map-log-')), 'out');
  const fd = openSync(path, 'w');
  try {
    const { dev, ino } = statSync(path);
    expect(isJournalStream(fd, { JOURNAL_STREAM: `${dev}:${ino}` })).toBe(true);
    expect(isJournalStream(fd, { JOURNAL_STREAM: `${dev}:${ino + 1}` })).toBe(false);
    expect(isJournalStream(fd, {})).toBe(false);
  } finally {
    closeSync(fd);
  }
});

test('createLogger with format text writes text lines', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'mx4map-log-')), 'out');
  const fd = openSync(path, 'w');
  const logging = createLogger('info', { fd, async: false, format: 'text' });
  logging.log.warn({ evt: 'x', domain: 'example.com' }, 'something to see');
  await logging.close();
  closeSync(fd);
  expect(readFileSync(path, 'utf8')).toMatch(/^\S+Z warn: something to see evt=x domain=example\.com\n$/);
});

test('a line logged once the log is closed (a second signal during shutdown) is dropped, never thrown', async () => {
  for (const format of ['json', 'text'] as const) {
    const path = join(mkdtempSync(join(tmpdir(), 'mx4map-log-')), 'out');
    const fd = openSync(path, 'w');
    const logging = createLogger('info', { fd, format });
    const connection = logging.log.child({ conn: 1 });
    logging.log.info({ evt: 'stopped' }, 'stopped');
    await logging.close();
    expect(() => logging.log.warn({ evt: 'shutdown-immediate' }, 'second signal; exiting at once')).not.toThrow();
    expect(() => connection.info({ evt: 'disconnect' }, 'connection closed')).not.toThrow();
    // (the asynchronous log closes its descriptor itself)
    const written = readFileSync(path, 'utf8');
    expect(written).toContain('stopped');
    expect(written).not.toContain('second signal');
  }
});
