import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { manPage } from '../../src/config/man-page';
import { OPTION_NAMES, envName, fileKey } from '../../src/config/options';
import { VERSION } from '../../src/version';

describe('mx4map(8), generated from the option table', () => {
  const page = manPage('1.2.3', '2026-01-02');

  test('names the version and date in its title line', () => {
    expect(page.split('\n')[0]).toBe('.TH MX4MAP 8 "2026-01-02" "mx4map 1.2.3" "System Administration"');
  });

  test('documents every option with its environment variable', () => {
    for (const name of OPTION_NAMES) {
      expect(page).toContain(`.BR ${fileKey(name).replace(/-/g, '\\-')} `);
      expect(page).toContain(envName(name).replace(/-/g, '\\-'));
    }
  });

  test('every line that roff reads as a request is one of ours: text never starts with a dot or a quote', () => {
    const requests = page.split('\n').filter((line) => /^[.']/.test(line));
    for (const line of requests) expect(line).toMatch(/^\.(TH|SH|TP|B|BR|I|br)( |$)/);
  });
});

test("the version compiled in is package.json's", () => {
  expect(VERSION).toBe(JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')).version);
});
