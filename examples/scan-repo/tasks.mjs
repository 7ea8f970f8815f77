// The task handlers of the scan-repo example. Steward imports this module in a
// worker thread and calls one named export per task as (input, ctx); each
// returns plain data, which Steward structured-clones back to the main thread.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { extname, join, relative } from 'node:path';
import { brotliCompressSync, constants } from 'node:zlib';

// Not the project's own: dependencies, git, builds, and a Steward data directory
// (`npm start` keeps one in .steward, with the server's token in it).
const SKIP = new Set(['node_modules', '.git', 'dist', '.steward']);
// Character classes keep this source line from matching its own pattern.
const MARKER = /\b(TO[D]O|FIX[M]E)\b/;
const STOP_WORDS = new Set('the and for that this with are from not its into when then than each one has have was but can our any all you'.split(' '));

/** Collects every file under `dir` (paths relative to `root`), skipping the folders in SKIP. */
async function walk(root, dir, out) {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (SKIP.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await walk(root, path, out);
    else if (entry.isFile()) out.push(relative(root, path));
  }
  return out;
}

/** Lists the repository's files, sorted, and logs how many there are. */
async function listFiles(root, ctx) {
  const files = (await walk(root, root, [])).sort();
  ctx.log(`found ${files.length} files under ${root}`);
  return files;
}

/** Runs `fn` on each file in turn, reporting progress every `every` files and at the end. */
async function eachFile(files, ctx, verb, fn, every = 4) {
  for (const [i, file] of files.entries()) {
    await fn(file);
    if ((i + 1) % every === 0 || i + 1 === files.length) ctx.progress(((i + 1) / files.length) * 100, `${verb} ${i + 1}/${files.length}: ${file}`);
  }
}

/** sha256 of every file, plus one digest over the whole list (like `sha256sum` output, hashed). */
export async function hashFiles({ root }, ctx) {
  const files = await listFiles(root, ctx);
  const tree = createHash('sha256');
  let bytes = 0;
  await eachFile(files, ctx, 'hashed', async (file) => {
    const data = await readFile(join(root, file));
    bytes += data.length;
    tree.update(`${createHash('sha256').update(data).digest('hex')}  ${file}\n`);
  });
  return { files: files.length, bytes, treeDigest: tree.digest('hex') };
}

/** Lines and files per file extension, most lines first. */
export async function countLines({ root }, ctx) {
  const files = await listFiles(root, ctx);
  const byExt = {};
  await eachFile(files, ctx, 'counted', async (file) => {
    const text = await readFile(join(root, file), 'utf8');
    const ext = extname(file) || '(none)';
    byExt[ext] ??= { files: 0, lines: 0 };
    byExt[ext].files++;
    byExt[ext].lines += text.length === 0 ? 0 : text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
  });
  const rows = Object.entries(byExt).map(([ext, c]) => ({ ext, ...c })).sort((a, b) => b.lines - a.lines);
  return { totalLines: rows.reduce((sum, r) => sum + r.lines, 0), byExt: rows };
}

/** The `top` largest files, each with its size brotli-compressed at the best (slowest) quality. */
export async function largestFiles({ root, top = 10 }, ctx) {
  const files = await listFiles(root, ctx);
  const sizes = [];
  await eachFile(files, ctx, 'compressed', async (file) => {
    const data = await readFile(join(root, file));
    const brotli = brotliCompressSync(data, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
    sizes.push({ file, bytes: data.length, brotli });
  }, 2);
  const total = sizes.reduce((sum, f) => ({ bytes: sum.bytes + f.bytes, brotli: sum.brotli + f.brotli }), { bytes: 0, brotli: 0 });
  return { total, largest: sizes.sort((a, b) => b.bytes - a.bytes).slice(0, top) };
}

/** Every to-do / fix-me marker, with file and line number. */
export async function scanMarkers({ root }, ctx) {
  const files = await listFiles(root, ctx);
  const hits = [];
  await eachFile(files, ctx, 'scanned', async (file) => {
    const lines = (await readFile(join(root, file), 'utf8')).split('\n');
    lines.forEach((text, i) => {
      const match = MARKER.exec(text);
      if (match) hits.push({ file, line: i + 1, marker: match[1], text: text.trim().slice(0, 80) });
    });
  });
  ctx.log(`${hits.length} markers found`);
  return { count: hits.length, hits: hits.slice(0, 10) };
}

/** The `top` most frequent words (3+ letters, a few stop words left out) over *.md and *.ts files. */
export async function wordFrequency({ root, top = 20 }, ctx) {
  const files = (await listFiles(root, ctx)).filter((f) => f.endsWith('.md') || f.endsWith('.ts'));
  const counts = new Map();
  await eachFile(files, ctx, 'read', async (file) => {
    for (const [word] of (await readFile(join(root, file), 'utf8')).toLowerCase().matchAll(/[a-z][a-z0-9_]{2,}/g)) {
      if (!STOP_WORDS.has(word)) counts.set(word, (counts.get(word) ?? 0) + 1);
    }
  });
  return { files: files.length, distinct: counts.size, top: [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, top) };
}
