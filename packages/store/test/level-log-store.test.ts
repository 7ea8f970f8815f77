import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Level } from 'level';
import { logStoreConformance } from '../src/conformance.js';
import { LevelLogStore, StoreError, type LogRecord } from '../src/index.js';

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'steward-store-'));
}

for (const durability of ['batched', 'strict'] as const) {
  logStoreConformance(`LevelLogStore (${durability})`, {
    persistent: true,
    async open(options) {
      const dir = await tempDir();
      const store = await LevelLogStore.open(dir, { durability, ...options });
      return {
        store,
        reopen: () => LevelLogStore.open(dir, { durability, ...options }),
        cleanup: () => rm(dir, { recursive: true, force: true }),
      };
    },
  });
}

async function collect(store: LevelLogStore): Promise<LogRecord[]> {
  const out: LogRecord[] = [];
  for await (const record of store.read()) out.push(record);
  return out;
}

describe('LevelLogStore', () => {
  it('writes the appends of one turn as one batch (group commit)', async () => {
    const dir = await tempDir();
    const store = await LevelLogStore.open(dir);
    try {
      const receipts = Array.from({ length: 100 }, (_, i) => store.append([{ i }]));
      assert.equal(new Set(receipts.map((r) => r.durable)).size, 1, 'one durable promise for the whole turn');
      await Promise.all(receipts.map((r) => r.durable));
      const next = store.append([{ i: 100 }]);
      assert.notEqual(next.durable, receipts[0]?.durable, 'a later turn gets its own batch');
      await next.durable;
      assert.equal((await collect(store)).length, 101);
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('fails fast with STORE_LOCKED when a second store opens the same directory', async () => {
    const dir = await tempDir();
    const first = await LevelLogStore.open(dir);
    try {
      await assert.rejects(LevelLogStore.open(dir), (e: unknown) => e instanceof StoreError && e.code === 'STORE_LOCKED');
    } finally {
      await first.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('ends replay at the last good record when the tail is torn, and reports it', async () => {
    const dir = await tempDir();
    const store = await LevelLogStore.open(dir);
    await store.append(['a', 'b']).durable;
    await store.close();
    const raw = new Level<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' });
    await raw.put(`r!${'3'.padStart(16, '0')}`, new Uint8Array([0xc1, 0xff]));
    await raw.close();
    const torn: number[] = [];
    const again = await LevelLogStore.open(dir, { onTornTail: (seq) => torn.push(seq) });
    try {
      assert.deepEqual((await collect(again)).map((r) => r.value), ['a', 'b']);
      assert.deepEqual(torn, [3]);
      assert.equal(again.append(['c']).firstSeq, 3, 'the torn record is replaced, not left in the middle');
      assert.deepEqual((await collect(again)).map((r) => r.value), ['a', 'b', 'c']);
    } finally {
      await again.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('fails with STORE_CORRUPT on damage in the middle of the log', async () => {
    const dir = await tempDir();
    const store = await LevelLogStore.open(dir);
    await store.append(['a', 'b', 'c']).durable;
    await store.close();
    const raw = new Level<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' });
    await raw.put(`r!${'2'.padStart(16, '0')}`, new Uint8Array([0xc1]));
    await raw.close();
    const again = await LevelLogStore.open(dir);
    try {
      await assert.rejects(collect(again), (e: unknown) => e instanceof StoreError && e.code === 'STORE_CORRUPT' && /record 2/.test(e.message));
    } finally {
      await again.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
