import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { optionTableMarkdown } from '../src/config/option-table';
import { metricTableMarkdown } from '../src/ops/metric-table';

const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');

test('the option table of docs/configuration.md is the one generated from the option definitions (npm run docs:options)', () => {
  const reference = readFileSync(join(__dirname, '..', 'docs', 'configuration.md'), 'utf8');
  const m = /<!-- options:start -->\n([\s\S]*?)\n<!-- options:end -->/.exec(reference);
  expect(m?.[1]).toBe(optionTableMarkdown());
});

test("the README's table of /metrics is the one generated from the registry (npm run docs:options)", () => {
  const m = /<!-- metrics:start -->\n([\s\S]*?)\n<!-- metrics:end -->/.exec(readme);
  expect(m?.[1]).toBe(metricTableMarkdown());
});

test('the README quick start names the two set-up commands', () => {
  expect(readme).toContain('npm ci && npm start');
  expect(readme).toContain('npm ci && npm test');
});
