import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { LevelLogStore, type AppendReceipt, type LogRecord, type LogStore, type ReadOptions, type Snapshot } from '@steward/store';
import { createRuntime } from '../src/index.js';
import { OutputBuffer } from '../src/output/output-buffer.js';
import { TaskOutput } from '../src/output/task-output.js';
import { deferred, settle } from './helpers.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

async function withLevelStore<T>(fn: (store: LevelLogStore) => Promise<T>, maxBlobBytes?: number): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'steward-output-'));
  const store = await LevelLogStore.open(dir, maxBlobBytes === undefined ? {} : { maxBlobBytes });
  try {
    return await fn(store);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** A real LevelDB store whose blob writes are reported written only once the test opens the gate: a store that is behind. */
class GatedStore implements LogStore {
  readonly #inner: LogStore;
  #gate = deferred();
  constructor(inner: LogStore) {
    this.#inner = inner;
  }
  open(): void {
    this.#gate.resolve();
  }
  get lastSeq(): number {
    return this.#inner.lastSeq;
  }
  append(values: readonly unknown[]): AppendReceipt {
    return this.#inner.append(values);
  }
  read(options?: ReadOptions): AsyncIterable<LogRecord> {
    return this.#inner.read(options);
  }
  saveSnapshot<S>(snapshot: Snapshot<S>): Promise<void> {
    return this.#inner.saveSnapshot(snapshot);
  }
  loadSnapshot<S>(): Promise<Snapshot<S> | undefined> {
    return this.#inner.loadSnapshot();
  }
  dropBelow(seq: number): Promise<number> {
    return this.#inner.dropBelow(seq);
  }
  appendBlob(key: string, chunk: unknown): Promise<void> {
    const written = this.#inner.appendBlob(key, chunk);
    return Promise.all([written, this.#gate.promise]).then(() => undefined);
  }
  readBlobs(key: string): AsyncIterable<unknown> {
    return this.#inner.readBlobs(key);
  }
  closeBlob(key: string): void {
    this.#inner.closeBlob(key);
  }
  dropBlobs(key: string): Promise<void> {
    return this.#inner.dropBlobs(key);
  }
  flush(): Promise<void> {
    return this.#inner.flush();
  }
  close(): Promise<void> {
    return this.#inner.close();
  }
}

async function countOf(iterable: AsyncIterable<unknown>): Promise<number> {
  let n = 0;
  for await (const _ of iterable) n++;
  return n;
}

describe('output bounds', () => {
  it('an output buffer keeps at most its chunk cap, empty chunks included', () => {
    const buffer = new OutputBuffer(1024, 100);
    for (let i = 0; i < 10_000; i++) buffer.append({ stream: 'stdout', data: '', at: i });
    assert.equal(buffer.chunks().length, 100);
    assert.equal(buffer.chunks()[0]?.n, 9_900);
    assert.equal(buffer.dropped, 9_900);
  });

  it('an output buffer keeps at most its byte cap and the newest chunks, in order', () => {
    const buffer = new OutputBuffer(1000, 1000);
    for (let i = 0; i < 1_000; i++) buffer.append({ stream: 'stdout', data: String(i).padStart(10, '0'), at: i });
    const kept = buffer.chunks();
    assert.equal(kept.length, 100);
    assert.deepEqual(
      kept.map((c) => c.n),
      Array.from({ length: 100 }, (_, i) => 900 + i),
    );
    assert.deepEqual(buffer.after(997).map((c) => c.n), [998, 999]);
    assert.deepEqual(buffer.after(5).map((c) => c.n)[0], 900);
  });

  it('a chunk dropped from an output buffer is released at once, not after a thousand more', async () => {
    const buffer = new OutputBuffer(64 * 1024);
    const first = new WeakRef(buffer.append({ stream: 'stdout', data: 'x'.repeat(64 * 1024), at: 0 }));
    for (let i = 1; i < 100; i++) buffer.append({ stream: 'stdout', data: 'y'.repeat(64 * 1024), at: i });
    await settle(1); // a WeakRef's target is held to the end of the job that made it
    gc();
    assert.ok(first.deref() === undefined, 'the dropped chunk is still referenced');
  });

  it('ended tasks keep their whole output only within a budget; past it the oldest keep a tail', () => {
    const output = new TaskOutput(undefined, 64 * 1024, { endedBytes: 128 * 1024, endedTailBytes: 4 * 1024 });
    const line = 'z'.repeat(1023);
    for (let t = 0; t < 20; t++) {
      for (let i = 0; i < 64; i++) output.append(`task-${t}`, { stream: 'stdout', data: line, at: i });
      output.ended(`task-${t}`);
    }
    let total = 0;
    for (let t = 0; t < 20; t++) total += output.buffer(`task-${t}`)?.bytes ?? 0;
    assert.ok(total <= 128 * 1024 + 20 * 4 * 1024, `ended tasks keep ${total} bytes`);
    // The newest ended task is kept whole; the oldest keeps its last lines.
    assert.equal(output.buffer('task-19')?.chunks().length, 64);
    const oldest = output.buffer('task-0')?.chunks() ?? [];
    assert.ok(oldest.length > 0 && oldest.length <= 4);
    assert.equal(oldest.at(-1)?.n, 63);
  });

  it('a runtime without a data directory frees ended tasks’ output past the budget (flat across tasks)', async () => {
    const rt = await createRuntime({ maxOutputBytes: 16 * 1024 });
    try {
      const line = 'q'.repeat(99);
      rt.define('chatty', { handler: (_i, ctx) => { for (let i = 0; i < 200; i++) ctx.log(line); } });
      const ids: string[] = [];
      for (let t = 0; t < 20; t++) {
        const handle = await rt.submit('chatty');
        await handle.result();
        ids.push(handle.id);
      }
      let total = 0;
      for (const id of ids) for await (const chunk of rt.output(id)) total += chunk.data.length;
      // Ended tasks keep 4 × the cap whole, all together; the others a quarter of it.
      assert.ok(total <= 4 * 16 * 1024 + 20 * 4 * 1024, `20 ended tasks keep ${total} characters of output`);
      let newest = 0;
      for await (const chunk of rt.output(ids.at(-1) as string)) newest += chunk.data.length;
      assert.equal(newest, 128 * 99, 'the newest ended task keeps its whole (capped) output');
    } finally {
      await rt.shutdown();
    }
  });

  it('output goes to the store in batches, not one write per line, and the store keeps a bounded tail', () =>
    withLevelStore(async (store) => {
      const output = new TaskOutput(store, 1024 * 1024);
      for (let i = 0; i < 100_000; i++) output.append('t', { stream: 'stdout', data: `line ${i} of the output`, at: i });
      output.ended('t');
      await store.flush();
      const records = await countOf(store.readBlobs('t'));
      assert.ok(records <= 64, `${records} blob records for 100k lines`);
      const lines: string[] = [];
      for await (const chunk of output.stored('t')) lines.push(chunk.data);
      assert.ok(lines.length > 1_000 && lines.length < 100_000, `${lines.length} lines kept`);
      assert.equal(lines.at(-1), 'line 99999 of the output');
      const first = Number(lines[0]?.split(' ')[1]);
      assert.deepEqual(lines, Array.from({ length: lines.length }, (_, i) => `line ${first + i} of the output`));
    }));

  it('empty lines count against the store cap too', () =>
    withLevelStore(async (store) => {
      const output = new TaskOutput(store, 64 * 1024);
      for (let i = 0; i < 200_000; i++) output.append('t', { stream: 'stdout', data: '', at: 0 });
      output.ended('t');
      const kept = await countOf(output.stored('t'));
      // Each costs at least a few bytes of the cap (its stream and time).
      assert.ok(kept > 0 && kept <= 16 * 1024, `${kept} empty lines kept under a 64 KiB cap`);
    }, 64 * 1024));

  it('a reader sees the lines not yet handed to the store', () =>
    withLevelStore(async (store) => {
      const output = new TaskOutput(store, 1024 * 1024);
      output.append('t', { stream: 'stdout', data: 'one', at: 1 });
      output.append('t', { stream: 'stderr', data: 'two', at: 2 });
      const seen: string[] = [];
      for await (const chunk of output.stored('t')) seen.push(`${chunk.stream}:${chunk.data}:${chunk.n}`);
      assert.deepEqual(seen, ['stdout:one:0', 'stderr:two:1']);
    }));

  it('says when the store is behind, and when it has caught up', () =>
    withLevelStore(async (inner) => {
      const store = new GatedStore(inner);
      const output = new TaskOutput(store, 1024 * 1024, { highWaterBytes: 256 * 1024 });
      assert.equal(output.whenWritable(), undefined);
      const line = 'w'.repeat(1000);
      for (let i = 0; i < 2_000; i++) output.append('t', { stream: 'stdout', data: line, at: i });
      await settle();
      const waiting = output.whenWritable();
      assert.ok(waiting instanceof Promise, 'the store is behind but output says go on');
      assert.ok(output.backlogBytes >= 256 * 1024);
      let caughtUp = false;
      void waiting.then(() => (caughtUp = true));
      await settle();
      assert.equal(caughtUp, false);
      store.open();
      await waiting;
      assert.equal(output.whenWritable(), undefined);
      await inner.flush();
      await settle();
      assert.equal(output.backlogBytes, 0);
    }));
});
