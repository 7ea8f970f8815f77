import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LogRecord, LogStore } from './log-store.js';
import { StoreError } from './store-error.js';

/** Opens a fresh, empty store for one test; `reopen` (optional) opens the same place again. */
export interface LogStoreFactory {
  /** True for a store that keeps its records across close and reopen; adds the reopen tests. */
  persistent?: boolean;
  /** Opens a store whose blob keys hold at most `maxBlobBytes` (for the cap test). */
  open(options?: { maxBlobBytes?: number }): Promise<{ store: LogStore; reopen?: () => Promise<LogStore>; cleanup?: () => Promise<void> }>;
}

async function collect<T>(iterable: AsyncIterable<LogRecord<T>>): Promise<LogRecord<T>[]> {
  const out: LogRecord<T>[] = [];
  for await (const record of iterable) out.push(record);
  return out;
}

async function collectBlobs(store: LogStore, key: string): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const chunk of store.readBlobs(key)) out.push(chunk);
  return out;
}

function assertStoreError(code: string): (error: unknown) => boolean {
  return (error) => error instanceof StoreError && error.code === code;
}

/**
 * The shared test suite every LogStore implementation must pass
 * (the way abstract-level's suite binds every level implementation).
 */
export function logStoreConformance(name: string, factory: LogStoreFactory): void {
  describe(`${name} conforms to the LogStore contract`, () => {
    async function withStore(
      fn: (store: LogStore, reopen?: () => Promise<LogStore>) => Promise<void>,
      options?: { maxBlobBytes?: number },
    ): Promise<void> {
      const { store, reopen, cleanup } = await factory.open(options);
      try {
        await fn(store, reopen);
      } finally {
        await store.close().catch(() => undefined);
        await cleanup?.();
      }
    }

    it('numbers records from 1 in append order', () =>
      withStore(async (store) => {
        assert.equal(store.lastSeq, 0);
        const a = store.append([{ n: 1 }, { n: 2 }]);
        const b = store.append([{ n: 3 }]);
        assert.deepEqual([a.firstSeq, a.lastSeq, b.firstSeq, b.lastSeq], [1, 2, 3, 3]);
        assert.equal(store.lastSeq, 3);
        await Promise.all([a.durable, b.durable]);
      }));

    it('reads back every record in order with its value intact', () =>
      withStore(async (store) => {
        const values = [{ type: 'a', list: [1, 2], nested: { ok: true } }, { type: 'b', text: 'héllo' }, 'plain', 42];
        await store.append(values).durable;
        const records = await collect(store.read());
        assert.deepEqual(records.map((r) => r.seq), [1, 2, 3, 4]);
        assert.deepEqual(records.map((r) => r.value), values);
      }));

    it('reads from a given sequence number onward', () =>
      withStore(async (store) => {
        await store.append([1, 2, 3, 4, 5]).durable;
        const records = await collect(store.read({ fromSeq: 4 }));
        assert.deepEqual(records, [{ seq: 4, value: 4 }, { seq: 5, value: 5 }]);
        assert.deepEqual(await collect(store.read({ fromSeq: 9 })), []);
      }));

    it('rejects an empty batch without consuming a sequence number', () =>
      withStore(async (store) => {
        assert.throws(() => store.append([]), assertStoreError('STORE_INVALID_ARGUMENT'));
        assert.equal(store.append(['x']).firstSeq, 1);
      }));

    it('keeps the newest snapshot and loads it back', () =>
      withStore(async (store) => {
        assert.equal(await store.loadSnapshot(), undefined);
        await store.append(['a', 'b', 'c']).durable;
        await store.saveSnapshot({ seq: 2, value: { tasks: ['a', 'b'] } });
        await store.saveSnapshot({ seq: 3, value: { tasks: ['a', 'b', 'c'] } });
        assert.deepEqual(await store.loadSnapshot(), { seq: 3, value: { tasks: ['a', 'b', 'c'] } });
      }));

    it('refuses a snapshot past the end of the log', () =>
      withStore(async (store) => {
        await store.append(['a']).durable;
        await assert.rejects(store.saveSnapshot({ seq: 5, value: {} }), assertStoreError('STORE_INVALID_ARGUMENT'));
      }));

    it('drops records below a sequence number and keeps numbering after them', () =>
      withStore(async (store) => {
        await store.append(['a', 'b', 'c', 'd']).durable;
        assert.equal(await store.dropBelow(3), 2);
        assert.deepEqual(await collect(store.read()), [{ seq: 3, value: 'c' }, { seq: 4, value: 'd' }]);
        assert.equal(store.append(['e']).firstSeq, 5);
        assert.equal(await store.dropBelow(3), 0);
      }));

    it('rejects every call once closed', () =>
      withStore(async (store) => {
        await store.close();
        assert.throws(() => store.append(['x']), assertStoreError('STORE_CLOSED'));
        await assert.rejects(store.flush(), assertStoreError('STORE_CLOSED'));
      }));

    it('keeps blob chunks per key in order, apart from the log', () =>
      withStore(async (store) => {
        store.appendBlob('task-1', { data: 'a' });
        store.appendBlob('task-2', { data: 'x' });
        store.appendBlob('task-1', { data: 'b' });
        assert.equal(store.lastSeq, 0, 'blobs take no log sequence numbers');
        await store.flush();
        assert.deepEqual(await collectBlobs(store, 'task-1'), [{ data: 'a' }, { data: 'b' }]);
        assert.deepEqual(await collectBlobs(store, 'task-2'), [{ data: 'x' }]);
        assert.deepEqual(await collectBlobs(store, 'none'), []);
      }));

    it('keeps only the tail of a key past its byte cap', () =>
      withStore(
        async (store) => {
          for (let i = 0; i < 100; i++) store.appendBlob('chatty', { line: i, pad: 'x'.repeat(20) });
          await store.flush();
          const kept = (await collectBlobs(store, 'chatty')) as Array<{ line: number }>;
          assert.ok(kept.length > 0 && kept.length < 100, `kept ${kept.length}`);
          assert.equal(kept.at(-1)?.line, 99);
          assert.deepEqual(kept.map((c) => c.line), Array.from({ length: kept.length }, (_, i) => 100 - kept.length + i));
        },
        { maxBlobBytes: 512 },
      ));

    it('drops every chunk of a key', () =>
      withStore(async (store) => {
        store.appendBlob('k', 1);
        store.appendBlob('other', 2);
        await store.dropBlobs('k');
        assert.deepEqual(await collectBlobs(store, 'k'), []);
        assert.deepEqual(await collectBlobs(store, 'other'), [2]);
      }));

    if (!factory.persistent) return;

    it('keeps blob chunks across reopening, in order after new ones', () =>
      withStore(async (store, reopen) => {
        assert.ok(reopen);
        store.appendBlob('k', 'before');
        await store.close();
        const again = await reopen();
        try {
          again.appendBlob('k', 'after');
          assert.deepEqual(await collectBlobs(again, 'k'), ['before', 'after']);
        } finally {
          await again.close();
        }
      }));

    it('brings back every durable record and the snapshot after reopening', () =>
      withStore(async (store, reopen) => {
        assert.ok(reopen, 'a persistent store factory must offer reopen');
        await store.append(['a', 'b']).durable;
        await store.saveSnapshot({ seq: 1, value: 'snap' });
        await store.close();
        const again = await reopen();
        try {
          assert.equal(again.lastSeq, 2);
          assert.deepEqual((await collect(again.read())).map((r) => r.value), ['a', 'b']);
          assert.deepEqual(await again.loadSnapshot(), { seq: 1, value: 'snap' });
        } finally {
          await again.close();
        }
      }));
  });
}
