import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildDomainSet, matchOverride } from '../../src/engine/overrides';

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
    expect(() => buildDomainSet(['/nonexistent/never.list'], 'never')).toThrow('never file /nonexistent/never.list cannot be read: ENOENT');
  });

  test('never wins over force_ipv4', () => {
    const both = buildDomainSet(['x.example'], 'x');
    expect(matchOverride({ never: both, force: both }, 'x.example')).toBe('never');
    expect(matchOverride({ never: buildDomainSet([], 'n'), force: both }, 'x.example')).toBe('force');
    expect(matchOverride({ never: buildDomainSet([], 'n'), force: both }, 'y.example')).toBeUndefined();
  });
});
