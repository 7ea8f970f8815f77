// Fails when source files of packages/*/src import each other in a circle. Imports
// are read with TypeScript's own pre-processor (import, import type, export ... from,
// import()), so type-only arrows count too: they are arrows of the architecture.
// Run by scripts/run-tests.mjs before the tests; `node scripts/check-import-cycles.mjs`
// alone prints each cycle it finds as a path of files.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Every .ts source file (not .d.ts) under dir. */
function sources(dir, out = []) {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) sources(path, out);
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** The source file a relative specifier names (`./x.js` is `./x.ts`), if it is one of ours. */
function target(from, specifier, known) {
  if (!specifier.startsWith('.')) return undefined;
  const base = resolve(dirname(from), specifier);
  const candidates = [base.replace(/\.(m|c)?js$/, '.ts'), `${base}.ts`, join(base, 'index.ts')];
  return candidates.find((path) => known.has(path));
}

export function importGraph() {
  const files = readdirSync(join(root, 'packages')).flatMap((pkg) => sources(join(root, 'packages', pkg, 'src')));
  const known = new Set(files);
  const graph = new Map();
  for (const file of files) {
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    const edges = importedFiles.map((ref) => target(file, ref.fileName, known)).filter((path) => path !== undefined);
    graph.set(file, [...new Set(edges)]);
  }
  return graph;
}

/** One cycle through each strongly connected group of files (depth-first search, three colours). */
export function findCycles(graph) {
  const state = new Map(); // undefined: not seen, 1: on the current path, 2: done
  const path = [];
  const cycles = [];
  const visit = (file) => {
    state.set(file, 1);
    path.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === 1) cycles.push([...path.slice(path.indexOf(next)), next]);
      else if (state.get(next) === undefined) visit(next);
    }
    path.pop();
    state.set(file, 2);
  };
  for (const file of [...graph.keys()].sort()) if (state.get(file) === undefined) visit(file);
  return cycles;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const graph = importGraph();
  const cycles = findCycles(graph);
  for (const cycle of cycles) console.error(`import cycle: ${cycle.map((file) => relative(root, file)).join(' -> ')}`);
  if (cycles.length > 0) {
    console.error(`${cycles.length} import cycle(s) among ${graph.size} source files: give the shared piece its own module`);
    process.exit(1);
  }
  console.log(`import cycles: none among ${graph.size} source files`);
}
