import { mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildDomainSet, buildDomainSetInSlices } from '../../src/domain/domain-set';
import { matchOverride } from '../../src/engine/overrides';

describe('override patterns', () => {
  test('exact names and .suffix patterns (as in a mailertable: the suffix matches names below it only)', () => {
    const set = buildDomainSet(['Example.COM.', '.corp.example'], 'never');
    expect(set.has('example.com')).toBe(true);
    expect(set.has('mail.example.com')).toBe(false);
    expect(set.has('a.corp.example')).toBe(true);
    expect(set.has('a.b.corp.example')).toBe(true);
    expect(set.has('corp.example')).toBe(false);
  });

  test('files: one pattern per line, # comments, blank lines', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'mx4map-ovr-')), 'force.list');
    writeFileSync(file, '# forced domains\nslow-v6.example  # their v6 is broken\n\n.legacy.example\n');
    const set = buildDomainSet([file, 'inline.example'], 'force_ipv4');
    expect(['slow-v6.example', 'x.legacy.example', 'inline.example'].every((d) => set.has(d))).toBe(true);
    expect(set.size).toBe(3);
  });

  test('a bad line names the file and line', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'mx4map-ovr-')), 'never.list');
    writeFileSync(file, 'good.example\nbad_name.example\n');
    expect(() => buildDomainSet([file], 'never')).toThrow(`${file}:2 (never): "bad_name.example" is not a domain or .suffix pattern`);
  });

  test('a missing file is an error naming it', () => {
    expect(() => buildDomainSet(['/nonexistent/never.list'], 'never')).toThrow('never file /nonexistent/never.list does not exist');
  });

  test('a FIFO or a device is refused with one clear message, never read (a FIFO would hang, /dev/zero never end)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mx4map-ovr-'));
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    symlinkSync('/dev/zero', join(dir, 'zero'));
    expect(() => buildDomainSet([join(dir, 'fifo')], 'never')).toThrow(`never file ${dir}/fifo is a FIFO, not a regular file`);
    expect(() => buildDomainSet([join(dir, 'zero')], 'force_ipv4')).toThrow(`force_ipv4 file ${dir}/zero is a device, not a regular file`);
  });

  test('the same patterns give the same fingerprint whatever their order; another pattern changes it', () => {
    const fp = (items: string[]) => buildDomainSet(items, 'never').fingerprint;
    expect(fp(['a.example', '.b.example', 'c.example'])).toBe(fp(['c.example', 'a.example', '.b.example', 'a.example']));
    expect(fp(['a.example', '.b.example'])).not.toBe(fp(['a.example', 'b.example']));
    expect(fp(['a.example'])).not.toBe(fp(['a.example', 'd.example']));
  });

  test('built in slices (reloads), a large file gives the same set, and the event loop runs between slices', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'mx4map-ovr-')), 'never.list');
    writeFileSync(file, Array.from({ length: 20_000 }, (_, i) => `d${i}.example`).join('\n'));
    let turns = 0;
    const ticker = setInterval(() => turns++, 0);
    const sliced = await buildDomainSetInSlices([file], 'never');
    clearInterval(ticker);
    expect(sliced.fingerprint).toBe(buildDomainSet([file], 'never').fingerprint);
    expect(sliced.has('d19999.example')).toBe(true);
    expect(turns).toBeGreaterThan(1);
  });

  test('never wins over force_ipv4', () => {
    const both = buildDomainSet(['x.example'], 'x');
    expect(matchOverride({ never: both, force: both }, 'x.example')).toBe('never');
    expect(matchOverride({ never: buildDomainSet([], 'n'), force: both }, 'x.example')).toBe('force');
    expect(matchOverride({ never: buildDomainSet([], 'n'), force: both }, 'y.example')).toBeUndefined();
  });
});
