/**
 * The house's layers, enforced: each folder of src/ has a rank, and a file may import only from its own
 * folder or from folders ranked lower. So nothing low knows anything high (a leaf helper never drags in
 * the engine), and no import cycle can form between files. ARCHITECTURE.md explains the order.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import ts from 'typescript';

const SRC = join(__dirname, '..', '..', 'src');

/** Lowest first. A folder may import from folders of a lower rank only ('.' is errors.ts, log.ts, log-text.ts, version.ts). */
const LAYERS: readonly (readonly string[])[] = [
  ['.'],
  ['net', 'text', 'files', 'limits', 'cache', 'replay'],
  ['domain', 'protocol'],
  ['dns', 'probe'],
  ['engine'],
  ['snapshot', 'shared', 'identity', 'learn', 'maps', 'demo'],
  ['server', 'ops', 'client'],
  ['config'],
  ['app'],
  ['cli'],
];
/** The entry point sits above everything. */
const ENTRY = 'index.ts';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Relative imports of a file (static, type-only, re-exports and dynamic), as paths of .ts files under src/. */
function importsOf(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return info.importedFiles
    .map((i) => i.fileName)
    .filter((name) => name.startsWith('.'))
    .map((name) => normalize(join(dirname(file), name.replace(/\.js$/, '.ts'))));
}

const folderOf = (file: string): string => {
  const rel = relative(SRC, file);
  return rel.includes('/') ? rel.slice(0, rel.indexOf('/')) : '.';
};
const rankOf = (file: string): number => (relative(SRC, file) === ENTRY ? LAYERS.length : LAYERS.findIndex((layer) => layer.includes(folderOf(file))));

const files = sourceFiles(SRC);
const graph = new Map(files.map((f) => [f, importsOf(f)]));

test('every folder of src/ has a place in the layer order', () => {
  const unplaced = [...new Set(files.filter((f) => rankOf(f) < 0).map(folderOf))];
  expect(unplaced).toEqual([]);
});

/** Imports that point to the same rank or up (the entry point's imports excepted). */
function upwardImports(g: ReadonlyMap<string, readonly string[]>): string[] {
  const upward: string[] = [];
  for (const [file, imports] of g) {
    for (const target of imports) {
      if (folderOf(target) === folderOf(file) && relative(SRC, file) !== ENTRY) continue;
      if (rankOf(target) >= rankOf(file)) upward.push(`${relative(SRC, file)} -> ${relative(SRC, target)}`);
    }
  }
  return upward;
}

test('every import points to its own folder or down the layers', () => {
  expect(upwardImports(graph)).toEqual([]);
});

test('every import names a file that exists', () => {
  const missing = [...graph].flatMap(([file, imports]) => imports.filter((t) => !graph.has(t)).map((t) => `${relative(SRC, file)} -> ${relative(SRC, t)}`));
  expect(missing).toEqual([]);
});

/** Groups of files that reach each other through imports (Tarjan's strongly connected components). */
function cyclesIn(g: ReadonlyMap<string, readonly string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of g.get(v) ?? []) {
      if (!g.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(relative(SRC, w));
    } while (w !== v);
    if (component.length > 1 || (g.get(v) ?? []).includes(v)) cycles.push(component);
  };
  for (const f of g.keys()) if (!index.has(f)) visit(f);
  return cycles;
}

test('no file reaches itself through its imports (no cycles, within a folder either)', () => {
  expect(cyclesIn(graph)).toEqual([]);
});

test('the checks catch an upward import, an import at the same rank, and a cycle', () => {
  const at = (path: string): string => join(SRC, path);
  const bad = new Map<string, string[]>([
    [at('engine/engine.ts'), [at('app/daemon.ts'), at('engine/pipeline.ts')]],
    [at('engine/pipeline.ts'), [at('engine/engine.ts')]],
    [at('dns/client.ts'), [at('probe/prober.ts')]],
    [at('app/daemon.ts'), [at('engine/engine.ts')]],
  ]);
  expect(upwardImports(bad)).toEqual(['engine/engine.ts -> app/daemon.ts', 'dns/client.ts -> probe/prober.ts']);
  expect(cyclesIn(bad).map((c) => c.sort())).toEqual([['app/daemon.ts', 'engine/engine.ts', 'engine/pipeline.ts']]);
});
