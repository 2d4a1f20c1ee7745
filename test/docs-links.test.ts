/**
 * The documentation's links resolve: every relative link in README.md, ARCHITECTURE.md, CHANGELOG.md and
 * docs/ names a file that exists (the packages ship them side by side), and every #anchor a heading there.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

const ROOT = join(__dirname, '..');
const DOCS = [
  'README.md',
  'ARCHITECTURE.md',
  'CHANGELOG.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

/** The text outside fenced code blocks. */
function prose(text: string): string {
  return text.replace(/^```[\s\S]*?^```/gm, '');
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\- _]/gu, '')
    .replace(/ /g, '-');
}

function anchorsIn(file: string): Set<string> {
  const headings = prose(readFileSync(file, 'utf8')).match(/^#{1,6} .*$/gm) ?? [];
  return new Set(headings.map((h) => anchorOf(h.replace(/^#+ /, ''))));
}

function brokenLinks(doc: string): string[] {
  const path = join(ROOT, doc);
  const broken: string[] = [];
  for (const m of prose(readFileSync(path, 'utf8')).matchAll(/\]\(([^)\s]+)\)/g)) {
    const target = m[1];
    if (/^(https?|mailto):/.test(target)) continue;
    const [file, anchor] = target.split('#');
    const resolved = file === '' ? path : join(dirname(path), file);
    if (!existsSync(resolved)) broken.push(`${doc}: ${target} (no file ${relative(ROOT, resolved)})`);
    else if (anchor !== undefined && resolved.endsWith('.md') && !anchorsIn(resolved).has(anchor)) broken.push(`${doc}: ${target} (no such heading)`);
  }
  return broken;
}

test.each(DOCS)('every relative link in %s resolves', (doc) => {
  expect(brokenLinks(doc)).toEqual([]);
});

test('the README opens with a table of contents naming each of its sections, in order', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const contents = /\*\*Contents\*\*\n\n((?:\s*- \[.*\]\(#.*\)\n)+)/.exec(readme)?.[1] ?? '';
  const listed = [...contents.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1]);
  const headings = (prose(readme).match(/^#{2,3} .*$/gm) ?? []).map((h) => anchorOf(h.replace(/^#+ /, '')));
  expect(listed).toEqual(headings);
});

test('the install, configuration, wiring and verifying sections come before the internals', () => {
  const readme = prose(readFileSync(join(ROOT, 'README.md'), 'utf8'));
  const at = (h: string): number => readme.indexOf(`\n## ${h}\n`);
  const order = ['Quick start', 'Install', 'Configuration', 'Wiring sendmail', 'Wiring Postfix', 'Verifying', 'Operating', 'Troubleshooting'].map(at);
  expect(order.every((p) => p > 0)).toBe(true);
  expect([...order].sort((a, b) => a - b)).toEqual(order);
});
