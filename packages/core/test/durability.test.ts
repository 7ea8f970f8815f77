import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Level } from 'level';
import { LevelLogStore } from '@steward/store';
import { createRuntime, isStewardError, type RuntimeOptions } from '../src/index.js';
import { ManualClock } from '../src/testing.js';
import { settle, WORKERS } from './helpers.js';

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'steward-durable-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function lines(path: string): Promise<string[]> {
  return (await readFile(path, 'utf8').catch(() => '')).split('\n').filter(Boolean);
}

const open = (dataDir: string, extra: RuntimeOptions = {}) => createRuntime({ dataDir, ...extra });

describe('durability with a data directory', () => {
  it('brings back completed tasks with their results and queued ones still queued', () =>
    withDir(async (dir) => {
      const first = await open(dir, { concurrency: 1 });
      first.define('echo', { handler: (input) => input });
      const done = await first.submit('echo', { n: 1 });
      await done.result();
      first.define('later', { handler: () => 'ran' });
      const gate = new Promise(() => undefined);
      first.define('block', { handler: () => gate });
      const blocking = await first.submit('block');
      const waiting = await first.submit('later');
      await settle();
      await first.shutdown({ timeoutMs: 0 });

      const second = await open(dir, { concurrency: 1 });
      try {
        assert.deepEqual(second.get(done.id)?.result, { n: 1 });
        assert.equal(second.get(done.id)?.status, 'completed');
        assert.equal(second.get(blocking.id)?.status, 'queued', 'interrupted by shutdown: queued again');
        assert.equal(second.get(waiting.id)?.status, 'queued', 'its type is not defined yet, so it waits');
        second.define('later', { handler: () => 'ran' });
        assert.equal((await second.task(waiting.id)!.result()).result, 'ran');
        assert.ok(second.recovery.replayedRecords + second.recovery.snapshotSeq > 0);
      } finally {
        await second.shutdown({ timeoutMs: 0 });
      }
    }));

  it('returns the same task for the same idempotency key, across a restart too', () =>
    withDir(async (dir) => {
      const first = await open(dir);
      first.define('echo', { handler: (input) => input });
      const a = await first.submit('echo', 1, { idempotencyKey: 'k-1' });
      const b = await first.submit('echo', 2, { idempotencyKey: 'k-1' });
      assert.equal(a.id, b.id);
      await a.result();
      await first.shutdown();
      const second = await open(dir);
      try {
        second.define('echo', { handler: (input) => input });
        const c = await second.submit('echo', 3, { idempotencyKey: 'k-1' });
        assert.equal(c.id, a.id);
        assert.equal((await c.result()).result, 1);
        assert.equal(second.list().length, 1);
      } finally {
        await second.shutdown();
      }
    }));

  it('fails fast with STEWARD_STORE_LOCKED when a second runtime opens the same directory', () =>
    withDir(async (dir) => {
      const first = await open(dir);
      try {
        await assert.rejects(open(dir), (e: unknown) => isStewardError(e, 'STEWARD_STORE_LOCKED'));
      } finally {
        await first.shutdown();
      }
      const again = await open(dir);
      await again.shutdown();
    }));

  it('resumes a task waiting out its backoff with the delay that was left', () =>
    withDir(async (dir) => {
      const clock = new ManualClock();
      let calls = 0;
      const flaky = { retries: { attempts: 1, delayMs: 10_000, jitter: false }, handler: () => { calls++; if (calls === 1) throw new Error('first'); return 'second'; } };
      const first = await open(dir, { clock });
      first.define('flaky', flaky);
      const handle = await first.submit('flaky');
      await settle();
      assert.equal(first.get(handle.id)?.status, 'retrying');
      clock.advance(4_000);
      await first.shutdown();
      const second = await open(dir, { clock });
      try {
        second.define('flaky', flaky);
        assert.equal(second.get(handle.id)?.status, 'retrying');
        clock.advance(5_900);
        await settle();
        assert.equal(calls, 1, 'not before the remaining 6 s');
        clock.advance(200);
        assert.equal((await second.task(handle.id)!.result()).result, 'second');
      } finally {
        await second.shutdown();
      }
    }));

  it('does not run a durable step again on a later attempt, inline', () =>
    withDir(async (dir) => {
      const rt = await open(dir);
      try {
        let runs = 0;
        rt.define('steps', {
          retries: { attempts: 1, delayMs: 0, jitter: false },
          handler: async (_input, ctx) => {
            const value = await ctx.step('fetch', () => ++runs);
            if (ctx.attempt === 1) throw new Error('fail after the step');
            return value;
          },
        });
        const outcome = await (await rt.submit('steps')).result();
        assert.equal(outcome.status, 'completed');
        assert.equal(outcome.result, 1);
        assert.equal(runs, 1);
      } finally {
        await rt.shutdown();
      }
    }));

  it('does not run a durable step again on a later attempt, in a worker thread', () =>
    withDir(async (dir) => {
      const marker = join(dir, 'marker.txt');
      const rt = await open(dir, { workers: { minThreads: 1, maxThreads: 1 } });
      try {
        const steps: string[] = [];
        rt.on('task:step', (e) => steps.push(e.name));
        rt.define('stepper', { module: WORKERS, export: 'stepper', retries: { attempts: 1, delayMs: 0, jitter: false } });
        const outcome = await (await rt.submit('stepper', { marker, failFirst: true })).result();
        assert.equal(outcome.status, 'completed');
        assert.equal((outcome.result as { attempt: number }).attempt, 2);
        assert.deepEqual((await lines(marker)).map((l) => l.split(' ')[0]), ['one', 'two']);
        await settle();
        assert.deepEqual(steps, ['one', 'two']);
      } finally {
        await rt.shutdown();
      }
    }));

  it('snapshots every N records, compacts the journal and recovers from the snapshot', () =>
    withDir(async (dir) => {
      const first = await open(dir, { snapshotEvery: 10 });
      first.define('echo', { handler: (input) => input });
      const handles = [];
      for (let i = 0; i < 20; i++) handles.push(await first.submit('echo', i));
      await Promise.all(handles.map((h) => h.result()));
      await settle(10);
      await first.shutdown();
      const second = await open(dir);
      try {
        assert.ok(second.recovery.snapshotSeq >= 60, `snapshot at ${second.recovery.snapshotSeq}`);
        assert.equal(second.recovery.replayedRecords, 0, 'a clean shutdown leaves nothing to replay');
        assert.equal(second.recovery.tasks, 20);
        assert.deepEqual(handles.map((h) => second.get(h.id)?.result), Array.from({ length: 20 }, (_, i) => i));
      } finally {
        await second.shutdown();
      }
    }));

  it('forgets ended tasks past their retention when it compacts', () =>
    withDir(async (dir) => {
      const clock = new ManualClock();
      const rt = await open(dir, { clock, retention: { completedMs: 60_000 } });
      rt.define('echo', { handler: (input) => input });
      const old = await rt.submit('echo', 'old');
      await old.result();
      clock.advance(61_000);
      const fresh = await rt.submit('echo', 'fresh');
      await fresh.result();
      await rt.shutdown();
      const again = await open(dir, { clock });
      try {
        assert.equal(again.get(old.id), undefined);
        assert.equal(again.get(fresh.id)?.result, 'fresh');
      } finally {
        await again.shutdown();
      }
    }));

  it('forgets a task failed by its failed dependency when it compacts, like any ended task', () =>
    withDir(async (dir) => {
      const clock = new ManualClock();
      const retention = { completedMs: 60_000, failedMs: 60_000 };
      const rt = await open(dir, { clock, retention });
      let fail!: () => void;
      const failing = new Promise<void>((resolve) => (fail = resolve));
      rt.define('bad', { retries: { attempts: 0 }, handler: async () => { await failing; throw new Error('bad'); } });
      rt.define('echo', { handler: (input) => input });
      const bad = await rt.submit('bad');
      // One waiting when its dependency fails, one submitted after it has failed.
      const dependent = await rt.submit('echo', 'never', { dependsOn: [bad.id] });
      fail();
      assert.equal((await dependent.result()).error?.code, 'STEWARD_DEPENDENCY_FAILED');
      const late = await rt.submit('echo', 'never', { dependsOn: [bad.id] });
      assert.equal((await late.result()).error?.code, 'STEWARD_DEPENDENCY_FAILED');
      clock.advance(61_000);
      await (await rt.submit('echo', 'fresh')).result();
      await rt.shutdown();
      const again = await open(dir, { clock, retention });
      try {
        assert.equal(again.get(bad.id), undefined);
        assert.equal(again.get(dependent.id), undefined, 'past its retention like the task that failed it');
        assert.equal(again.get(late.id), undefined, 'failed at its submission, and past its retention too');
      } finally {
        await again.shutdown();
      }
    }));

  it('stops replay before a torn tail record and says so in a log line and an event', () =>
    withDir(async (dir) => {
      const first = await open(dir);
      first.define('echo', { handler: (input) => input });
      const kept = await first.submit('echo', 'kept');
      await kept.result();
      await first.shutdown();
      const raw = new Level<string, Uint8Array>(join(dir, 'journal'), { keyEncoding: 'utf8', valueEncoding: 'view' });
      await raw.put(`r!${'9'.repeat(16)}`, new Uint8Array([0xc1]));
      await raw.close();
      const warnings: string[] = [];
      const second = await open(dir, { logger: { warn: (m: string) => warnings.push(m), error: () => undefined } });
      try {
        const events: number[] = [];
        second.events({ policy: 'block' }).subscribe((e) => { if (e.type === 'journal:torn-tail') events.push(e.seq); });
        await settle();
        assert.equal(second.get(kept.id)?.result, 'kept');
        assert.equal(warnings.length, 1);
        assert.match(warnings[0] ?? '', /torn/);
        assert.deepEqual(events, [9_999_999_999_999_999]);
        assert.equal(second.recovery.tornTailSeq, 9_999_999_999_999_999);
      } finally {
        await second.shutdown();
      }
    }));

  it('refuses to open a journal damaged in the middle, with STEWARD_STORE_CORRUPT and what to do', () =>
    withDir(async (dir) => {
      // Two good records, then damage to the first: the damage is not at the tail.
      const store = await LevelLogStore.open(join(dir, 'journal'));
      await store.append([{ v: 1, type: 'task:requeued', at: 0, taskId: 'x' }, { v: 1, type: 'task:requeued', at: 0, taskId: 'y' }]).durable;
      await store.close();
      const raw = new Level<string, Uint8Array>(join(dir, 'journal'), { keyEncoding: 'utf8', valueEncoding: 'view' });
      await raw.put(`r!${'1'.padStart(16, '0')}`, new Uint8Array([0xc1]));
      await raw.close();
      await assert.rejects(open(dir), (e: unknown) => isStewardError(e, 'STEWARD_STORE_CORRUPT') && /backup|move it aside/.test(e.message));
    }));

  it('keeps task output on disk: it outlives the process, and a follower sees all of it once', () =>
    withDir(async (dir) => {
      const first = await open(dir);
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      first.define('talk', {
        handler: async (_input, ctx) => {
          ctx.log('before');
          await gate;
          ctx.log('after', 2);
          return 'done';
        },
      });
      const handle = await first.submit('talk');
      await settle();
      const followed: string[] = [];
      const following = (async () => {
        for await (const chunk of first.output(handle.id, { follow: true })) followed.push(chunk.data);
      })();
      await settle();
      release();
      await following;
      assert.deepEqual(followed, ['before', 'after 2']);
      await first.shutdown();
      const second = await open(dir);
      try {
        const kept: string[] = [];
        for await (const chunk of second.output(handle.id, { follow: true })) kept.push(`${chunk.stream}:${chunk.data}`);
        assert.deepEqual(kept, ['log:before', 'log:after 2']);
      } finally {
        await second.shutdown();
      }
    }));

  it('keeps only the tail of a chatty task’s output on disk', () =>
    withDir(async (dir) => {
      const rt = await open(dir, { maxOutputBytes: 2_048 });
      try {
        rt.define('chatty', { handler: (_i, ctx) => { for (let i = 0; i < 1_000; i++) ctx.log(`line ${i}`); } });
        const handle = await rt.submit('chatty');
        await handle.result();
        const kept: string[] = [];
        for await (const chunk of rt.output(handle.id)) kept.push(chunk.data);
        assert.ok(kept.length > 10 && kept.length < 200, `kept ${kept.length}`);
        assert.equal(kept.at(-1), 'line 999');
      } finally {
        await rt.shutdown();
      }
    }));
});
