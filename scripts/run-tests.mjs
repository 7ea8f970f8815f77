// Runs every compiled test file with Node's own test runner. Test files are
// compiled by `tsc -b` into each project's dist/; only *.test.js files are tests
// (fixtures beside them are not), so they are listed here rather than globbed by node.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const roots = [
  ...readdirSync(join(root, 'packages')).map((p) => join(root, 'packages', p, 'dist', 'test')),
  join(root, 'test', 'dist'),
];

function walk(dir, out) {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, out);
    else if (name.endsWith('.test.js')) out.push(relative(root, path));
  }
  return out;
}

// The import graph first: a cycle among the sources fails the run before any test.
const cycles = spawnSync(process.execPath, [join(root, 'scripts', 'check-import-cycles.mjs')], { cwd: root, stdio: 'inherit' });
if (cycles.status !== 0) process.exit(cycles.status ?? 1);

const filter = process.argv.slice(2);
let files = roots.flatMap((dir) => walk(dir, [])).sort();
if (filter.length > 0) files = files.filter((f) => filter.some((part) => f.includes(part)));
if (files.length === 0) {
  console.error('no test files found: run `tsc -b` first');
  process.exit(1);
}
const result = spawnSync(process.execPath, ['--test', '--test-reporter=spec', ...files], { cwd: root, stdio: 'inherit' });
process.exit(result.status ?? 1);
