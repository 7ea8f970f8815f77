// The scan-repo example walks a checkout; it must not read what is not the project's
// own: the server's data directory (its token included), dependencies, builds, git.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

interface HashResult {
  files: number;
}
interface Tasks {
  hashFiles(input: { root: string }, ctx: unknown): Promise<HashResult>;
  scanMarkers(input: { root: string }, ctx: unknown): Promise<{ count: number; hits: Array<{ file: string }> }>;
}

const tasksUrl = new URL('../../examples/scan-repo/tasks.mjs', import.meta.url);
const ctx = { log: () => undefined, progress: () => undefined };
// Spelled in two halves so that scanning this repository does not report this file.
const MARKER = ['TO', 'DO'].join('');

describe('the scan-repo example', () => {
  it('skips .steward, node_modules, .git and dist, and reads everything else', async () => {
    const tasks = (await import(tasksUrl.href)) as Tasks;
    const root = await mkdtemp(join(tmpdir(), 'steward-scan-'));
    try {
      await writeFile(join(root, 'main.ts'), `// ${MARKER}: the one marker that belongs to the project\n`);
      for (const skipped of ['.steward', 'node_modules', '.git', 'dist']) {
        await mkdir(join(root, skipped));
        await writeFile(join(root, skipped, 'token'), `${MARKER}: in ${skipped}, never to be read\n`);
      }
      const hashed = await tasks.hashFiles({ root }, ctx);
      assert.equal(hashed.files, 1);
      const markers = await tasks.scanMarkers({ root }, ctx);
      assert.deepEqual(markers.hits.map((h) => h.file), ['main.ts']);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
