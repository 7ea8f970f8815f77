import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Level } from 'level';
import { LevelLogStore } from '../src/index.js';

/** How many blob chunks the directory holds, counted by LevelDB itself. */
async function blobKeys(dir: string): Promise<number> {
  const db = new Level<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' });
  await db.open();
  try {
    let n = 0;
    for await (const _ of db.keys({ gte: 'b!', lt: 'b!~' })) n++;
    return n;
  } finally {
    await db.close();
  }
}

describe('blob bounds across sessions', () => {
  it('reading a key lets go of the chunks of earlier sessions that the cap trims, so a key does not grow with restarts', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'steward-blob-'));
    try {
      const pad = 'p'.repeat(100);
      // Each session stays within the cap on its own; together they are ten times over it.
      for (let session = 0; session < 10; session++) {
        const store = await LevelLogStore.open(dir, { maxBlobBytes: 4096 });
        for (let i = 0; i < 30; i++) await store.appendBlob('task', { session, i, pad });
        await store.close();
      }
      assert.equal(await blobKeys(dir), 300);
      const store = await LevelLogStore.open(dir, { maxBlobBytes: 4096 });
      const read: Array<{ session: number; i: number }> = [];
      for await (const chunk of store.readBlobs('task')) read.push(chunk as { session: number; i: number });
      await store.close();
      assert.ok(read.length > 0 && read.length <= 40, `${read.length} chunks read under a 4 KiB cap`);
      assert.deepEqual(read.at(-1), { session: 9, i: 29, pad });
      assert.equal(await blobKeys(dir), read.length, 'chunks trimmed on read are still on disk');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
