// Writes that fail: batches stay in order, none is dropped, a listener cannot stop the
// writer. LevelDB is real; the failures are injected into its batch() (a full disk
// cannot be made to fail one chosen write of several), and restored after each test.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { Level } from 'level';
import { LevelLogStore } from '../src/index.js';

const realBatch = Level.prototype.batch;

/** Makes LevelDB's batch() fail while `failing()` says so (after a short delay, so writes overlap). */
function injectFailures(failing: () => boolean): void {
  Level.prototype.batch = async function (this: Level, ...args: unknown[]) {
    const fail = failing();
    await new Promise((resolve) => setTimeout(resolve, 5));
    if (fail) throw Object.assign(new Error('IO error: No space left on device'), { code: 'LEVEL_IO_ERROR' });
    return (realBatch as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof Level.prototype.batch;
}

async function records(dir: string): Promise<unknown[]> {
  const store = await LevelLogStore.open(dir);
  try {
    const out: unknown[] = [];
    for await (const record of store.read()) out.push(record.value);
    return out;
  } finally {
    await store.close();
  }
}

describe('LevelLogStore when writes fail', () => {
  afterEach(() => {
    Level.prototype.batch = realBatch;
  });

  it('keeps every failed batch, in order, and writes them all once it can', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'steward-wf-'));
    let full = true;
    injectFailures(() => full);
    const store = await LevelLogStore.open(dir);
    const a = store.append(['A']);
    await Promise.resolve();
    const b = store.append(['B']); // while A's write is in flight
    // flush() must not start a second write beside A's: it waits for it, and reports.
    await assert.rejects(store.flush(), (e: unknown) => (e as { code?: string }).code === 'STORE_FULL');
    assert.equal(store.failure?.code, 'STORE_FULL');
    full = false;
    await Promise.all([a.durable, b.durable]);
    assert.equal(store.failure, undefined);
    await store.close();
    Level.prototype.batch = realBatch;
    assert.deepEqual(await records(dir), ['A', 'B']);
    await rm(dir, { recursive: true, force: true });
  });

  it('never writes a later batch before an earlier one that failed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'steward-wf-'));
    let calls = 0;
    injectFailures(() => ++calls === 1); // only the first write fails
    const store = await LevelLogStore.open(dir);
    const settled: string[] = [];
    const a = store.append(['A']);
    a.durable.then(() => settled.push('A'), () => settled.push('A rejected'));
    await Promise.resolve();
    const b = store.append(['B']);
    b.durable.then(() => settled.push('B'), () => settled.push('B rejected'));
    await store.flush().catch(() => undefined);
    await Promise.all([a.durable, b.durable]);
    assert.deepEqual(settled, ['A', 'B'], 'A is acknowledged first, and B only once A is written');
    await store.close();
    Level.prototype.batch = realBatch;
    assert.deepEqual(await records(dir), ['A', 'B']);
    await rm(dir, { recursive: true, force: true });
  });

  it('goes on writing and closes cleanly when a listener throws', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'steward-wf-'));
    let full = true;
    injectFailures(() => full);
    const store = await LevelLogStore.open(dir, {
      onWriteFailed: () => {
        throw new Error('a listener that throws');
      },
      onRecovered: () => {
        throw new Error('another one');
      },
    });
    const a = store.append(['A']);
    await assert.rejects(store.flush(), (e: unknown) => (e as { code?: string }).code === 'STORE_FULL');
    full = false;
    await a.durable;
    const b = store.append(['B']);
    await b.durable;
    await store.close();
    Level.prototype.batch = realBatch;
    // Closed for real: this process may open the directory again.
    assert.deepEqual(await records(dir), ['A', 'B']);
    await rm(dir, { recursive: true, force: true });
  });
});
