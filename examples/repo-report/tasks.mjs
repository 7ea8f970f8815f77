// Worker-thread tasks of the repo-report example. Each runs as (input, ctx).
import { appendFileSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/** Lists the TypeScript files under a directory. */
function sourceFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (name.endsWith('.ts')) out.push(path);
  }
  return out;
}

/**
 * Phase "survey": reads every source file of one package: lines, exports, and the
 * other packages it imports. Each file costs a token of the "reads" bucket, the way
 * a call to a rate-limited API would.
 */
export async function survey({ root, pkg }, ctx) {
  const files = sourceFiles(join(root, 'packages', pkg, 'src'));
  let lines = 0;
  const exports = [];
  const imports = new Set();
  for (const [i, file] of files.entries()) {
    await ctx.rateLimit('reads');
    const text = readFileSync(file, 'utf8');
    lines += text.split('\n').length;
    for (const match of text.matchAll(/^export (?:async )?(?:function|class|const|interface|type) (\w+)/gm)) exports.push(match[1]);
    for (const match of text.matchAll(/from '@steward\/(\w+)/g)) if (match[1] !== pkg) imports.add(match[1]);
    ctx.progress(((i + 1) / files.length) * 100, relative(root, file));
  }
  return { pkg, files: files.length, lines, exports: exports.length, imports: [...imports].sort(), largest: exports.slice(0, 5) };
}

/**
 * Phase "write": appends one package's section to the shared report file. Every
 * writer holds the lock "file:report" (exclusive), so sections never interleave.
 */
export function writeSection({ report, pkg }, ctx) {
  const s = ctx.dependencies[`survey-${pkg}`];
  const section = [
    `## @steward/${pkg}`,
    '',
    `${s.files} files, ${s.lines} lines, ${s.exports} exports; imports ${s.imports.length ? s.imports.map((p) => `@steward/${p}`).join(', ') : 'no other package'}.`,
    `Some exports: ${s.largest.join(', ') || '(none)'}.`,
    '',
  ].join('\n');
  appendFileSync(report, `${section}\n`);
  ctx.log(`wrote the section of ${pkg}`);
  return section.length;
}

/** Phase "check": reads the finished report (a shared lock) and checks every section is there once. */
export function check({ report, packages }) {
  const text = readFileSync(report, 'utf8');
  const missing = packages.filter((pkg) => text.split(`## @steward/${pkg}\n`).length !== 2);
  if (missing.length > 0) throw new Error(`sections missing or repeated: ${missing.join(', ')}`);
  return { bytes: text.length, sections: packages.length };
}
