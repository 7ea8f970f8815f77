// Storage faults: what the journal does when the disk, LevelDB or the data itself
// lets it down. Real LevelDB and real processes throughout; where a fault cannot be
// made for real on demand (a snapshot that fails while the disk has room), a store
// that wraps the real one injects it, and the test says so.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createRuntime, isStewardError, type RuntimeEvent } from '@steward/core';
import { LevelLogStore, MemoryLogStore, type Snapshot } from '@steward/store';
import { runHostAndKill } from './host-process.js';

async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `steward-${prefix}-`));
}

function hasCode(code: string): (error: unknown) => boolean {
  return (error) => {
    assert.ok(isStewardError(error), `a StewardError, not ${String(error)}`);
    assert.equal((error as { code: string }).code, code, (error as Error).message);
    return true;
  };
}

/** Collects unhandled rejections while `fn` runs (each one would kill a host by default). */
async function withoutUnhandled(fn: () => Promise<void>): Promise<void> {
  const seen: unknown[] = [];
  const listener = (reason: unknown) => seen.push(reason);
  process.on('unhandledRejection', listener);
  try {
    await fn();
    // Two turns, so a rejection left dangling at the end is noticed.
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
  } finally {
    process.off('unhandledRejection', listener);
  }
  assert.deepEqual(seen, [], 'no unhandled rejection');
}

/** Fault injection: a memory store whose snapshots fail while `failing` is true. */
class SnapshotFailingStore extends MemoryLogStore {
  failing = true;
  attempts = 0;
  override async saveSnapshot<S>(snapshot: Snapshot<S>): Promise<void> {
    this.attempts++;
    if (this.failing) throw new Error('injected: no space left on device (ENOSPC)');
    return super.saveSnapshot(snapshot);
  }
}

describe('a snapshot that fails', () => {
  it('is logged, evented and survived; the journal works on and snapshots once it can', async () => {
    await withoutUnhandled(async () => {
      const store = new SnapshotFailingStore();
      const warnings: string[] = [];
      const rt = await createRuntime({
        store,
        snapshotEvery: 10,
        logger: { warn: (m: string) => warnings.push(m), error: () => undefined },
      });
      const failed: RuntimeEvent[] = [];
      rt.events$.subscribe((e) => {
        if (e.type === 'journal:snapshot-failed') failed.push(e);
      });
      rt.define('job', { handler: (n: number) => n });
      for (let i = 0; i < 20; i++) await (await rt.submit('job', i)).result();
      assert.ok(store.attempts > 0, 'a snapshot was attempted');
      assert.ok(failed.length > 0, 'a journal:snapshot-failed event was emitted');
      assert.ok(warnings.some((w) => w.includes('snapshot failed')), 'and logged');
      assert.equal(await store.loadSnapshot(), undefined);
      // The journal carries on and the next snapshot, once it can, succeeds.
      store.failing = false;
      for (let i = 0; i < 20; i++) await (await rt.submit('job', i)).result();
      await rt.shutdown();
      assert.ok((await store.loadSnapshot()) !== undefined, 'a snapshot was taken once it could be');
    });
  });
});

describe('the data-directory lock', () => {
  it('refuses a second open in the same process and keeps the lock against other processes', async () => {
    const dataDir = await tempDir('lock');
    const rt = await createRuntime({ dataDir });
    try {
      await assert.rejects(createRuntime({ dataDir }), hasCode('STEWARD_STORE_LOCKED'));
      // Another process must still be kept out (LevelDB's lock is per process, and a
      // refused open in this process used to drop it).
      const probe = fileURLToPath(new URL('./fixtures/open-store.js', import.meta.url));
      const other = spawnSync(process.execPath, [probe, join(dataDir, 'journal')], { encoding: 'utf8' });
      assert.equal(other.stdout.trim(), 'STORE_LOCKED', `the other process got: ${other.stdout} ${other.stderr}`);
      rt.define('job', { handler: () => 'still works' });
      assert.equal(await rt.run('job'), 'still works');
    } finally {
      await rt.shutdown();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('is released when createRuntime fails after opening the journal', async () => {
    const dataDir = await tempDir('badtasks');
    try {
      await assert.rejects(createRuntime({ dataDir, tasks: { broken: { handler: 42 } as never } }), hasCode('STEWARD_INVALID_OPTIONS'));
      const rt = await createRuntime({ dataDir });
      await rt.shutdown();
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('numbering after a compaction that dropped every record', () => {
  it('goes on above the snapshot, so what is written after a clean restart is replayed after a crash', { timeout: 60_000 }, async () => {
    const dataDir = await tempDir('renumber');
    try {
      const rt = await createRuntime({ dataDir });
      rt.define('job', { handler: (n: number) => n });
      for (let i = 0; i < 5; i++) await (await rt.submit('job', i)).result();
      await rt.shutdown(); // snapshot at the last record, every record dropped
      const run = await runHostAndKill({ dataDir, durability: 'batched', count: 3 }, (r) => r.lines.includes('DONE'));
      assert.equal(run.acks.length, 3);
      const again = await createRuntime({ dataDir });
      try {
        for (const id of run.acks) assert.ok(again.get(id), `task ${id}, acknowledged after the restart, survived the crash`);
      } finally {
        await again.shutdown();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('a damaged journal', () => {
  /** Writes many records through a host that is then killed, so they stay in LevelDB's .log file. */
  async function journalWithRecords(dataDir: string): Promise<string[]> {
    // No snapshot while it runs: every record stays in the log, none is deleted.
    const run = await runHostAndKill({ dataDir, durability: 'batched', count: 800, snapshotEvery: 1_000_000 }, (r) => r.lines.includes('DONE'));
    return run.acks;
  }

  async function flipMiddleOfLog(dataDir: string): Promise<void> {
    const dir = join(dataDir, 'journal');
    const logs = (await readdir(dir)).filter((f) => f.endsWith('.log'));
    let biggest = '';
    let size = 0;
    for (const name of logs) {
      const s = (await stat(join(dir, name))).size;
      if (s > size) [biggest, size] = [name, s];
    }
    assert.ok(size > 4 * 32_768, `the .log holds several 32 KiB blocks (${size} bytes)`);
    const bytes = await readFile(join(dir, biggest));
    for (let i = 0; i < 64; i++) bytes[Math.floor(size / 2) + i] = (bytes[Math.floor(size / 2) + i] as number) ^ 0xff;
    await writeFile(join(dir, biggest), bytes);
  }

  it('is refused with STEWARD_STORE_CORRUPT naming the gap; salvage keeps what is readable and says what was lost', { timeout: 60_000 }, async () => {
    const dataDir = await tempDir('corrupt');
    try {
      const acks = await journalWithRecords(dataDir);
      assert.equal(acks.length, 800);
      await flipMiddleOfLog(dataDir);
      await assert.rejects(createRuntime({ dataDir }), (error: unknown) => {
        hasCode('STEWARD_STORE_CORRUPT')(error);
        assert.match((error as Error).message, /records \d+\.\.\d+ are missing/);
        assert.match((error as Error).message, /salvage/);
        return true;
      });
      const rt = await createRuntime({ dataDir, recovery: { onCorruption: 'salvage' } });
      let kept: number;
      try {
        const lost = rt.recovery.lost;
        assert.ok(lost !== undefined && lost.records > 0, 'the report says what was lost');
        assert.ok(lost.ranges.length > 0);
        kept = acks.filter((id) => rt.get(id) !== undefined).length;
        assert.ok(kept > 0 && kept < 800, `some tasks kept (${kept}), some lost`);
      } finally {
        await rt.shutdown();
      }
      // Salvaged once: the next open meets no gap.
      const again = await createRuntime({ dataDir });
      try {
        assert.equal(acks.filter((id) => again.get(id) !== undefined).length, kept);
      } finally {
        await again.shutdown();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('reaches the caller as STEWARD_STORE_CORRUPT with LevelDB\'s error as the cause when a table file is damaged', { timeout: 60_000 }, async () => {
    const dataDir = await tempDir('ldb');
    try {
      let rt = await createRuntime({ dataDir });
      rt.define('job', { handler: (n: unknown) => n });
      for (let i = 0; i < 400; i++) await rt.submit('job', { i, pad: 'y'.repeat(100) });
      await rt.shutdown();
      // Opening again turns LevelDB's log into a table file (.ldb).
      rt = await createRuntime({ dataDir });
      await rt.shutdown();
      const dir = join(dataDir, 'journal');
      const tables = (await readdir(dir)).filter((f) => f.endsWith('.ldb'));
      assert.ok(tables.length > 0, 'a table file was written');
      for (const name of tables) {
        // Every block of the table is damaged (its data and index blocks), the footer
        // left whole so LevelDB opens the file and finds the damage: whichever part the
        // next open reads, it meets it (a few bytes in one place could land in a block
        // no read touches, depending on how LevelDB compacted).
        const bytes = await readFile(join(dir, name));
        const footer = 48;
        for (let i = 0; i < bytes.length - footer; i++) bytes[i] = (bytes[i] as number) ^ 0xff;
        await writeFile(join(dir, name), bytes);
      }
      await assert.rejects(createRuntime({ dataDir }), (error: unknown) => {
        hasCode('STEWARD_STORE_CORRUPT')(error);
        let cause: unknown = error;
        const codes: unknown[] = [];
        while (cause !== undefined && cause !== null) {
          codes.push((cause as { code?: unknown }).code);
          cause = (cause as { cause?: unknown }).cause;
        }
        assert.ok(codes.includes('LEVEL_CORRUPTION'), `LevelDB's error is attached as the cause (${codes.join(' < ')})`);
        return true;
      });
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('refuses a record of a newer format, naming both versions', async () => {
    const dataDir = await tempDir('version');
    try {
      const store = await LevelLogStore.open(join(dataDir, 'journal'));
      store.append([{ v: 99, type: 'task:submitted', at: 0, task: { id: 'x', type: 'job', input: null, priority: 0, order: 0, dependsOn: [] } }]);
      await store.close();
      await assert.rejects(createRuntime({ dataDir }), (error: unknown) => {
        hasCode('STEWARD_STORE_VERSION')(error);
        assert.match((error as Error).message, /version 99/);
        return true;
      });
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('inputs the journal cannot encode', () => {
  it('are refused at submit with STEWARD_NOT_SERIALIZABLE and their path, and nothing is written', async () => {
    const dataDir = await tempDir('encode');
    const rt = await createRuntime({ dataDir });
    try {
      rt.define('job', { handler: () => 'ran' });
      const cyclic: Record<string, unknown> = { a: { b: {} } };
      (cyclic.a as { b: Record<string, unknown> }).b.back = cyclic;
      let deep: unknown = 'bottom';
      for (let i = 0; i < 95; i++) deep = { d: deep };
      const cases: Array<[unknown, unknown, RegExp]> = [
        [cyclic, undefined, /input\.a\.b\.back .*cycle/],
        [deep, undefined, /input(\.d)+ .*nested more than/],
        [{ n: 10n }, undefined, /input\.n is a BigInt/],
        [{ ok: true }, { big: 1n }, /options\.metadata\.big is a BigInt/],
      ];
      for (const [input, metadata, message] of cases) {
        await assert.rejects(rt.submit('job', input, metadata === undefined ? undefined : { metadata: metadata as Record<string, unknown> }), (error: unknown) => {
          hasCode('STEWARD_NOT_SERIALIZABLE')(error);
          assert.match((error as Error).message, message);
          return true;
        });
      }
      assert.equal(rt.list().length, 0, 'nothing was acknowledged');
      assert.equal(await rt.run('job', { fine: [1, 2, 3] }), 'ran');
    } finally {
      await rt.shutdown();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('an idempotent resubmit', () => {
  for (const durability of ['strict', 'batched'] as const) {
    it(`is not acknowledged before the first submission is durable (${durability})`, async () => {
      const dataDir = await tempDir('idem');
      const rt = await createRuntime({ dataDir, durability });
      try {
        rt.define('job', { handler: () => 'done' });
        const order: string[] = [];
        const first = rt.submit('job', 1, { idempotencyKey: 'k' }).then((h) => {
          order.push('first');
          return h.id;
        });
        const second = rt.submit('job', 1, { idempotencyKey: 'k' }).then((h) => {
          order.push('second');
          return h.id;
        });
        assert.equal(await second, await first);
        assert.deepEqual(order, ['first', 'second']);
      } finally {
        await rt.shutdown();
        await rm(dataDir, { recursive: true, force: true });
      }
    });
  }
});
