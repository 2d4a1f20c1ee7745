import fc from 'fast-check';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync, mkdirSync, symlinkSync, promises as fsPromises } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type SnapshotEntry, SnapshotError, decodeSnapshot, encodeSnapshot } from '../../src/snapshot/format';
import { directoryProblem } from '../../src/snapshot/file';
import { writeFileAtomically } from '../../src/files/atomic-write';
import { SnapshotKeeper, type SnapshotLimits, type SnapshotSource } from '../../src/snapshot/keeper';
import { leave } from '../../src/engine/intern';
import type { Decision } from '../../src/engine/decision';
import { logSink } from '../support/log-sink';

const NOW = 1_800_000_000_000;
const HOUR = 3_600_000;
const RULE = 'triggers=no-aaaa;probe=true';
const forced: Decision = { action: 'force-ipv4', triggers: ['cname-mx'], routes: [['192.0.2.1', '192.0.2.2'], ['192.0.2.3']] };

function entries(): SnapshotEntry[] {
  return [
    { domain: 'forced.example', decision: forced, expiresAt: NOW + 600_000 },
    { domain: 'fine.example', decision: leave('ipv6-ok'), expiresAt: NOW + 60_000 },
  ];
}

describe('snapshot format', () => {
  test('round-trips decisions with their expiry', () => {
    const restored = decodeSnapshot(encodeSnapshot(entries(), NOW, RULE), NOW, HOUR);
    expect(restored.expired).toBe(0);
    expect(restored.entries).toEqual(entries());
  });

  test('the header names the rule the decisions were made under; a snapshot without one reads as unknown', () => {
    expect(decodeSnapshot(encodeSnapshot(entries(), NOW, RULE), NOW, HOUR).rule).toBe(RULE);
    const older = encodeSnapshot(entries(), NOW, RULE).replace(`"rule":"${RULE}",`, '');
    expect(decodeSnapshot(older, NOW, HOUR).rule).toBeUndefined();
  });

  test('restored decisions are the shared (interned) objects', () => {
    const [, fine] = decodeSnapshot(encodeSnapshot(entries(), NOW, RULE), NOW, HOUR).entries;
    expect(fine.decision).toBe(leave('ipv6-ok'));
  });

  test('entries that expired while the server was down are dropped and counted', () => {
    const restored = decodeSnapshot(encodeSnapshot(entries(), NOW, RULE), NOW + 120_000, HOUR);
    expect(restored.entries.map((e) => e.domain)).toEqual(['forced.example']);
    expect(restored.expired).toBe(1);
  });

  test('a lifetime beyond max_ttl (a clock jump, an edited file) is cut to max_ttl', () => {
    const far = [{ domain: 'far.example', decision: forced, expiresAt: NOW + 365 * 24 * HOUR }];
    expect(decodeSnapshot(encodeSnapshot(far, NOW, RULE), NOW, HOUR).entries[0].expiresAt).toBe(NOW + HOUR);
  });

  test('DNS failures are not kept across a restart', () => {
    const text = encodeSnapshot([{ domain: 'broken.example', decision: { action: 'dns-failure', detail: 'timeout' }, expiresAt: NOW + 5000 }], NOW, RULE);
    expect(decodeSnapshot(text, NOW, HOUR).entries).toEqual([]);
  });

  const good = encodeSnapshot(entries(), NOW, RULE);
  test.each([
    ['empty file', '', /line 1: not JSON/],
    ['another file', '{"hello":1}\n', /not an mx4map cache snapshot/],
    ['a future version', good.replace('"version":1', '"version":2'), /version 2/],
    ['no entry count', good.replace('"entries":2', '"entries":"two"'), /no entry count/],
  ])('not a snapshot (%s): refused whole, naming the problem', (_name, text, problem) => {
    expect(() => decodeSnapshot(text, NOW, HOUR)).toThrow(SnapshotError);
    expect(() => decodeSnapshot(text, NOW, HOUR)).toThrow(problem);
  });

  test.each([
    ['truncated', good.split('\n').slice(0, 2).join('\n'), 'header promises 2 entries, file holds 1 (truncated?)'],
    ['a line cut short', good.slice(0, good.length - 10), 'line 3: not JSON'],
    ['a bad domain', good.replace('fine.example', 'fine example'), 'line 3: not a domain'],
    ['a bad address', good.replace('192.0.2.3', '192.0.2.300'), 'line 2: not a decision'],
    ['a special-purpose route (127.0.0.1)', good.replace('192.0.2.3', '127.0.0.1'), 'line 2: not a decision'],
    ['an unknown trigger', good.replace('cname-mx', 'because'), 'line 2: not a decision'],
    ['a deadline answer', good.replace('ipv6-ok', 'deadline'), 'line 3: not a decision'],
    ['a bad expiry', good.replace(String(NOW + 60_000), '"soon"'), 'line 3: bad expiry'],
  ])('one bad entry (%s): that entry is dropped and counted, the rest kept', (_name, text, problem) => {
    const restored = decodeSnapshot(text, NOW, HOUR);
    expect(restored.entries).toHaveLength(1);
    expect(restored.invalid).toBe(1);
    expect(restored.firstProblem).toBe(problem);
  });

  test('a header promising more entries than the file holds (a digit added): the entries there are read, the missing ones counted', () => {
    const restored = decodeSnapshot(good.replace('"entries":2', '"entries":12'), NOW, HOUR);
    expect(restored.entries).toHaveLength(2);
    expect(restored.invalid).toBe(10);
    expect(restored.firstProblem).toBe('header promises 12 entries, file holds 2 (truncated?)');
  });

  test('any mutation of a snapshot is either read back as valid entries or rejected as corrupt; nothing else', () => {
    fc.assert(
      fc.property(fc.nat(good.length), fc.string({ maxLength: 8 }), fc.nat(8), (at, insert, cut) => {
        const text = good.slice(0, at) + insert + good.slice(at + cut);
        try {
          const restored = decodeSnapshot(text, NOW, HOUR);
          for (const e of restored.entries) expect(e.expiresAt).toBeGreaterThan(NOW);
          // Nothing counted twice: at most a count per line, or per line the header promises (lines missing from
          // a truncated file count as invalid; a mutated header count can promise more lines than are there).
          const promised = Number(/"entries":(\d+)/.exec(text.split('\n')[0])?.[1] ?? 0);
          expect(restored.entries.length + restored.invalid).toBeLessThanOrEqual(Math.max(2, text.split('\n').length, promised + 1));
        } catch (err) {
          expect(err).toBeInstanceOf(SnapshotError);
        }
      }),
      { numRuns: 3000 },
    );
  });
});

describe('snapshot file', () => {
  test('written atomically: the new content replaces the old, and no temporary file is left', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mx4map-snap-'));
    const path = join(dir, 'cache.snapshot');
    writeFileSync(path, 'old');
    await writeFileAtomically(path, 'new');
    expect(readFileSync(path, 'utf8')).toBe('new');
    expect(readdirSync(dir)).toEqual(['cache.snapshot']);
  });

  test('a write that cannot complete leaves the old snapshot whole and no temporary file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mx4map-snap-'));
    const path = join(dir, 'cache.snapshot');
    mkdirSync(path); // rename onto a directory fails
    await expect(writeFileAtomically(path, 'new')).rejects.toThrow();
    expect(readdirSync(dir)).toEqual(['cache.snapshot']);
  });

  test('the temporary file has a new, unpredictable name on every write', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mx4map-snap-'));
    const path = join(dir, 'cache.snapshot');
    const seen = new Set<string>();
    const rename = jest.spyOn(fsPromises, 'rename');
    try {
      for (let i = 0; i < 3; i++) await writeFileAtomically(path, `v${i}`);
      for (const [from] of rename.mock.calls) seen.add(String(from));
    } finally {
      rename.mockRestore();
    }
    expect(seen.size).toBe(3);
    for (const name of seen) expect(name).not.toContain(String(process.pid));
  });

  test('a link planted where the temporary file used to go (.NAME.PID.tmp) is never followed: its target is unchanged', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mx4map-snap-'));
    const target = join(dir, 'precious');
    writeFileSync(target, 'keep me');
    symlinkSync(target, join(dir, `.cache.snapshot.${process.pid}.tmp`));
    await writeFileAtomically(join(dir, 'cache.snapshot'), 'new');
    expect(readFileSync(target, 'utf8')).toBe('keep me');
    expect(readFileSync(join(dir, 'cache.snapshot'), 'utf8')).toBe('new');
  });

  test('a directory that is missing is named', async () => {
    expect(await directoryProblem('/nonexistent-mx4map/cache.snapshot')).toBe('the directory /nonexistent-mx4map does not exist');
    expect(await directoryProblem(join(tmpdir(), 'cache.snapshot'))).toBeUndefined();
  });
});

describe('SnapshotKeeper', () => {
  function store(): { saved: SnapshotEntry[]; restored: SnapshotEntry[]; rules: Array<string | undefined>; source: SnapshotSource } {
    const saved = entries();
    const restored: SnapshotEntry[] = [];
    const rules: Array<string | undefined> = [];
    return {
      saved,
      restored,
      rules,
      source: {
        rule: RULE,
        snapshotEntries: () => saved,
        restore: (e, rule) => {
          rules.push(rule);
          restored.push(...e);
          return { restored: restored.length, dropped: 0 };
        },
      },
    };
  }
  const limits = (): SnapshotLimits => ({ maxTtlMs: HOUR, cacheSize: 1000 });

  test('saves and restores through the file, logging what it did', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'mx4map-snap-')), 'cache.snapshot');
    const sink = logSink();
    const a = store();
    await new SnapshotKeeper(path, a.source, limits, sink.log, () => NOW).save();
    const b = store();
    await new SnapshotKeeper(path, b.source, limits, sink.log, () => NOW + 1000).load();
    expect(b.restored).toEqual(a.saved);
    expect(b.rules).toEqual([RULE]);
    expect(sink.events('snapshot-loaded')[0]).toMatchObject({ restored: 2, expired: 0, dropped: 0, invalid: 0 });
  });

  test('a corrupt file is logged and ignored; no file at all is a quiet first start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mx4map-snap-'));
    const sink = logSink();
    const s = store();
    await new SnapshotKeeper(join(dir, 'none'), s.source, limits, sink.log).load();
    writeFileSync(join(dir, 'bad'), 'garbage\n');
    await new SnapshotKeeper(join(dir, 'bad'), s.source, limits, sink.log).load();
    expect(s.restored).toEqual([]);
    expect(sink.events('snapshot-absent')).toHaveLength(1);
    expect(sink.events('snapshot-ignored')[0]).toMatchObject({ error: 'line 1: not JSON' });
  });

  test.each([
    ['a FIFO (a plain open would hang start-up)', (path: string) => execFileSync('mkfifo', [path]), /is a FIFO, not a regular file/],
    ['a link to /dev/zero (a plain read would never end)', (path: string) => symlinkSync('/dev/zero', path), /is a device, not a regular file/],
    [
      'a file larger than the cache could have written',
      (path: string) => writeFileSync(path, Buffer.alloc(2 * 1024 * 1024, 0x20)),
      /is 2097152 bytes, more than the 1025024 allowed/,
    ],
  ])('%s at the snapshot path is refused at once, logged, and the server starts empty', async (_name, plant, problem) => {
    const path = join(mkdtempSync(join(tmpdir(), 'mx4map-snap-')), 'cache.snapshot');
    plant(path);
    const sink = logSink();
    const s = store();
    await new SnapshotKeeper(path, s.source, limits, sink.log).load();
    expect(s.restored).toEqual([]);
    expect(sink.events('snapshot-ignored')[0].error).toMatch(problem);
  });

  test('a save that fails is logged, never thrown', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mx4map-snap-'));
    mkdirSync(join(dir, 'taken'));
    const sink = logSink();
    await new SnapshotKeeper(join(dir, 'taken'), store().source, limits, sink.log).save();
    expect(sink.events('snapshot-failed')).toHaveLength(1);
  });
});
