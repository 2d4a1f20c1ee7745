import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { optionTableMarkdown } from '../src/config/option-table';

const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');

test('the README option table is the one generated from the option definitions (npm run docs:options)', () => {
  const m = /<!-- options:start -->\n([\s\S]*?)\n<!-- options:end -->/.exec(readme);
  expect(m?.[1]).toBe(optionTableMarkdown());
});

test('the README quick start names the two set-up commands', () => {
  expect(readme).toContain('npm ci && npm start');
  expect(readme).toContain('npm ci && npm test');
});
