/**
 * Following a log as `tail -F` does, against real files in a temporary directory. The test drives each poll
 * itself: no timers, no sleeps.
 */
import { appendFileSync, mkdtempSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type FollowerState, LogFollower } from '../../src/learn/log-follower';

let dir: string;
let path: string;
let lines: string[];
let states: FollowerState['status'][];
let follower: LogFollower;
const follow = (options: { chunkBytes?: number; budgetBytes?: number; maxLine?: number } = {}): LogFollower =>
  new LogFollower(
    path,
    (l) => lines.push(l),
    { maxLine: 100, ...options },
    (s) => states.push(s.status),
  );

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mx4map-follow-'));
  path = join(dir, 'maillog');
  lines = [];
  states = [];
});
afterEach(async () => {
  await follower?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('starts at the end: history is not read, what is appended is, line by line', async () => {
  writeFileSync(path, 'old 1\nold 2\n');
  follower = follow();
  await follower.poll();
  expect(lines).toEqual([]);
  appendFileSync(path, 'new 1\nnew 2\n');
  await follower.poll();
  expect(lines).toEqual(['new 1', 'new 2']);
  expect(states).toEqual(['open']);
});

test('a partial last line waits for its newline', async () => {
  writeFileSync(path, '');
  follower = follow();
  await follower.poll();
  appendFileSync(path, 'half of a li');
  await follower.poll();
  expect(lines).toEqual([]);
  appendFileSync(path, 'ne\n');
  await follower.poll();
  expect(lines).toEqual(['half of a line']);
});

test('rename-and-create rotation: the rest of the old file is read, then the new one from its start', async () => {
  writeFileSync(path, '');
  follower = follow();
  await follower.poll();
  appendFileSync(path, 'before rotation\n');
  renameSync(path, `${path}.1`);
  appendFileSync(`${path}.1`, 'late into the old file\n');
  writeFileSync(path, 'first of the new file\n');
  await follower.poll();
  expect(lines).toEqual(['before rotation', 'late into the old file', 'first of the new file']);
  expect(follower.state.rotations).toBe(1);
});

test('copytruncate: a file shorter than our place is read again from its start', async () => {
  writeFileSync(path, `${'x'.repeat(50)}\n`);
  follower = follow();
  await follower.poll();
  truncateSync(path, 0);
  appendFileSync(path, 'after truncation\n');
  await follower.poll();
  expect(lines).toEqual(['after truncation']);
  expect(follower.state.truncations).toBe(1);
});

test('a file that does not exist yet: waited for (said once), then read from its start', async () => {
  follower = follow();
  await follower.poll();
  await follower.poll();
  expect(states).toEqual(['missing']);
  writeFileSync(path, 'the first line ever\n');
  await follower.poll();
  expect(lines).toEqual(['the first line ever']);
  expect(states).toEqual(['missing', 'open']);
});

test('an over-long line is skipped and counted, never held whole; the next line is read', async () => {
  writeFileSync(path, '');
  follower = follow({ maxLine: 100, chunkBytes: 64 });
  await follower.poll();
  appendFileSync(path, `${'y'.repeat(5000)}`);
  await follower.poll();
  appendFileSync(path, `${'y'.repeat(5000)}\nvalid line\n`);
  await follower.poll();
  expect(lines).toEqual(['valid line']);
  expect(follower.state).toMatchObject({ lines: 2, skipped: 1 });
});

test('each poll reads at most its budget: a burst is spread over several polls, in order', async () => {
  writeFileSync(path, '');
  follower = follow({ chunkBytes: 1024, budgetBytes: 4096 });
  await follower.poll();
  const burst = Array.from({ length: 1000 }, (_, i) => `line ${String(i).padStart(4, '0')}`);
  appendFileSync(path, `${burst.join('\n')}\n`);
  let polls = 0;
  while (lines.length < 1000 && polls < 100) {
    const before = follower.state.bytes;
    await follower.poll();
    expect(follower.state.bytes - before).toBeLessThanOrEqual(4096);
    polls++;
  }
  expect(lines).toEqual(burst);
  expect(polls).toBeGreaterThan(1);
});

test('a path that is a directory: an error state naming why, and no crash', async () => {
  follower = new LogFollower(
    dir,
    () => undefined,
    { maxLine: 100 },
    (s) => states.push(s.status),
  );
  await follower.poll();
  expect(follower.state).toMatchObject({ status: 'error', problem: 'not a regular file' });
});
