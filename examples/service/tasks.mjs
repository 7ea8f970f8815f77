// Worker-thread tasks of the example service. Each runs as (input, ctx).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative } from 'node:path';

const SKIP = new Set(['node_modules', '.git', 'dist', '.steward']);

/** Every file under `root`, skipping dependencies, builds and data. */
function walk(root, dir = root, out = []) {
  for (const name of readdirSync(dir)) {
    if (SKIP.has(name)) continue;
    const path = join(dir, name);
    const stat = statSync(path);
    if (stat.isDirectory()) walk(root, path, out);
    else if (stat.size < 2_000_000) out.push(path);
  }
  return out;
}

const SECRETS = [
  ['aws-access-key', /\bAKIA[0-9A-Z]{16}\b/],
  ['private-key', /-----BEGIN (?:RSA |EC |OPENSSH )?PRIVATE KEY-----/],
  ['github-token', /\bgh[pousr]_[A-Za-z0-9]{36,}\b/],
  ['slack-token', /\bxox[abpr]-[A-Za-z0-9-]{10,}\b/],
  ['password-assignment', /\b(?:password|passwd|secret)\s*[:=]\s*['"][^'"\s]{8,}['"]/i],
];

/** Scans a folder for leaked secrets; reports file, line and kind (never the secret itself). */
export function scanSecrets({ path }, ctx) {
  const files = walk(path);
  const findings = [];
  for (const [i, file] of files.entries()) {
    const lines = readFileSync(file, 'utf8').split('\n');
    for (const [n, line] of lines.entries()) {
      for (const [kind, pattern] of SECRETS) if (pattern.test(line)) findings.push({ file: relative(path, file), line: n + 1, kind });
    }
    if (i % 10 === 0 || i === files.length - 1) ctx.progress(((i + 1) / files.length) * 100, `scanned ${i + 1}/${files.length}`);
  }
  ctx.log(`${findings.length} possible secrets in ${files.length} files`);
  return { files: files.length, findings };
}

/** Counts lines and TODO/FIXME markers per file extension. */
export function countLines({ path }, ctx) {
  const files = walk(path);
  const byExtension = {};
  let markers = 0;
  for (const [i, file] of files.entries()) {
    const text = readFileSync(file, 'utf8');
    const ext = extname(file) || '(none)';
    byExtension[ext] ??= { files: 0, lines: 0 };
    byExtension[ext].files++;
    byExtension[ext].lines += text.split('\n').length;
    markers += (text.match(/\b(?:TO[D]O|FIX[M]E)\b/g) ?? []).length;
    if (i % 10 === 0 || i === files.length - 1) ctx.progress(((i + 1) / files.length) * 100, `counted ${i + 1}/${files.length}`);
  }
  return { files: files.length, markers, byExtension };
}
