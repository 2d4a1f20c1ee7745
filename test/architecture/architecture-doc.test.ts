/** ARCHITECTURE.md stays true: every path it names exists, and every folder of src/ is in its layer table. */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const doc = readFileSync(join(ROOT, 'ARCHITECTURE.md'), 'utf8');

test('every src/, test/, scripts/ or cf-snippets/ path it names exists', () => {
  const named = new Set(doc.match(/\b(?:src|test|scripts|cf-snippets)\/[\w./-]*[\w/]/g) ?? []);
  expect(named.size).toBeGreaterThan(30);
  expect([...named].filter((path) => !existsSync(join(ROOT, path)))).toEqual([]);
});

test('every folder of src/ has a row in the layer table', () => {
  const folders = readdirSync(join(ROOT, 'src'), { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name);
  expect(folders.filter((f) => !doc.includes(`| \`src/${f}/\` |`))).toEqual([]);
});

test('the layer numbers in the table are the enforced order', () => {
  // layers.test.ts holds the order; the table says the same thing in prose.
  const source = readFileSync(join(__dirname, 'layers.test.ts'), 'utf8');
  const enforced = [...source.matchAll(/^\s+\[([^\]]*)\],$/gm)].map((m) => [...m[1].matchAll(/'([^']+)'/g)].map((x) => x[1]));
  const rows = [...doc.matchAll(/^\| (\d+) \| `src\/(\w*)\/?` \|/gm)].map((m) => [Number(m[1]), m[2] === '' ? '.' : m[2]] as const);
  expect(rows.length).toBeGreaterThan(10);
  for (const [layer, folder] of rows) expect({ folder, layer: enforced.findIndex((l) => l.includes(folder)) }).toEqual({ folder, layer });
});
