import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createRuntime, type Runtime, type RuntimeEvent, type TaskContext } from '../src/index.js';
import { ManualClock, withRuntime } from '../src/testing.js';
import { deferred, settle } from './helpers.js';

const WAITS = new URL('./fixtures/waits.js', import.meta.url);

/** Waits for an approval and returns it. */
const approval = async (_input: unknown, ctx: TaskContext) => ({ decision: await ctx.waitForSignal('approval') });

async function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'steward-waits-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Resolves once `check` holds, looking again after every event of the runtime (no clock, no turn count). */
function until(rt: Runtime, check: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    if (check()) return resolve();
    const subscription = rt.events$.subscribe(() => {
      if (!check()) return;
      subscription.unsubscribe();
      resolve();
    });
  });
}

/** The outcome of a task the runtime knows (a handle from after a restart). */
function resultOf(rt: Runtime, id: string) {
  const handle = rt.task(id);
  assert.ok(handle !== undefined, `task ${id} is known`);
  return handle.result();
}

function statusOf(rt: Runtime, id: string) {
  const snapshot = rt.get(id);
  assert.ok(snapshot !== undefined, `task ${id} is known`);
  return snapshot;
}

describe('durable waits', () => {
  it('suspends on a wait (status waiting, waitingFor, event) and returns the payload a signal sends', () =>
    withRuntime({}, async (rt) => {
      let runs = 0;
      rt.define('review', { handler: async (input: unknown, ctx) => { runs++; return approval(input, ctx); } });
      const events: RuntimeEvent[] = [];
      rt.events({ policy: 'block' }).subscribe((e) => { if (e.type === 'task:waiting' || e.type === 'task:signalled') events.push(e); });
      const handle = await rt.submit('review');
      await until(rt, () => statusOf(rt, handle.id).status === 'waiting');
      const waiting = statusOf(rt, handle.id);
      assert.deepEqual(waiting.waitingFor, { kind: 'signal', name: 'approval' });
      assert.equal(rt.queueStatus().items.find((i) => i.id === handle.id)?.reason, 'signal');
      assert.equal(rt.queueStatus().running, 0);
      const answer = await rt.signal(handle.id, 'approval', { approved: true, by: 'ana' });
      assert.deepEqual(answer, { delivered: true, taskStatus: 'queued' });
      const outcome = await handle.result();
      assert.equal(outcome.status, 'completed');
      assert.deepEqual(outcome.result, { decision: { approved: true, by: 'ana' } });
      assert.equal(runs, 2, 'the handler ran again from the top');
      assert.equal(statusOf(rt, handle.id).waitingFor, undefined);
      assert.deepEqual(events.map((e) => e.type), ['task:waiting', 'task:signalled']);
      assert.deepEqual((events[0] as { waitingFor: unknown }).waitingFor, { kind: 'signal', name: 'approval' });
      assert.equal((events[1] as { name: string }).name, 'approval');
      const metrics = rt.metrics();
      assert.equal(metrics.tasks.failed, 0);
    }));

  it('keeps a signal sent before the wait: the first wait of that name takes it, a second one waits', () =>
    withRuntime({}, async (rt) => {
      const gate = deferred();
      rt.define('twice', {
        handler: async (_input, ctx) => {
          await gate.promise;
          const first = await ctx.waitForSignal('go');
          const second = await ctx.waitForSignal('go');
          return [first, second];
        },
      });
      const handle = await rt.submit('twice');
      await until(rt, () => statusOf(rt, handle.id).status === 'running');
      assert.deepEqual(await rt.signal(handle.id, 'go', 1), { delivered: true, taskStatus: 'running' });
      gate.resolve();
      await until(rt, () => statusOf(rt, handle.id).waitingFor !== undefined);
      assert.deepEqual(statusOf(rt, handle.id).waitingFor, { kind: 'signal', name: 'go' });
      await rt.signal(handle.id, 'go', 2);
      assert.deepEqual((await handle.result()).result, [1, 2]);
    }));

  it('a waiting task holds no slot: with concurrency 1 another task runs meanwhile', () =>
    withRuntime({ concurrency: 1 }, async (rt) => {
      rt.define('review', { handler: approval });
      rt.define('quick', { handler: () => 'done' });
      const waiting = await rt.submit('review');
      await until(rt, () => statusOf(rt, waiting.id).status === 'waiting');
      const quick = await rt.submit('quick');
      assert.equal((await quick.result()).status, 'completed');
      await rt.signal(waiting.id, 'approval', 'yes');
      assert.equal((await waiting.result()).status, 'completed');
    }));

  it('releases its locks while it waits and takes them again to resume', () =>
    withRuntime({}, async (rt) => {
      rt.define('review', { handler: approval, locks: ['repo'] });
      rt.define('writer', { handler: () => 'wrote', locks: ['repo'] });
      const waiting = await rt.submit('review');
      await until(rt, () => statusOf(rt, waiting.id).status === 'waiting');
      const writer = await rt.submit('writer');
      assert.equal((await writer.result()).status, 'completed');
      await rt.signal(waiting.id, 'approval', true);
      assert.deepEqual((await waiting.result()).result, { decision: true });
    }));

  it('a wait past its timeoutMs throws STEWARD_SIGNAL_TIMEOUT, which the handler may catch', () => {
    const clock = new ManualClock();
    return withRuntime({ clock }, async (rt) => {
      rt.define('patient', {
        handler: async (_input, ctx) => {
          try {
            return await ctx.waitForSignal('go', { timeoutMs: 1_000 });
          } catch (error) {
            return `gave up: ${(error as { code: string }).code}`;
          }
        },
      });
      rt.define('strict', { handler: async (_input, ctx) => ctx.waitForSignal('go', { timeoutMs: 1_000 }) });
      const caught = await rt.submit('patient');
      const thrown = await rt.submit('strict');
      await until(rt, () => statusOf(rt, caught.id).status === 'waiting' && statusOf(rt, thrown.id).status === 'waiting');
      assert.deepEqual(statusOf(rt, caught.id).waitingFor, { kind: 'signal', name: 'go', until: clock.now() + 1_000 });
      clock.advance(999);
      await settle();
      assert.equal(statusOf(rt, caught.id).status, 'waiting');
      clock.advance(1);
      assert.equal((await caught.result()).result, 'gave up: STEWARD_SIGNAL_TIMEOUT');
      const failed = await thrown.result();
      assert.equal(failed.status, 'failed');
      assert.equal(failed.error?.code, 'STEWARD_SIGNAL_TIMEOUT');
      assert.equal(failed.error?.retryable, false);
    });
  });

  it('a signal that arrives before the timeout cancels it', () => {
    const clock = new ManualClock();
    return withRuntime({ clock }, async (rt) => {
      rt.define('patient', { handler: async (_input, ctx) => ctx.waitForSignal('go', { timeoutMs: 1_000 }) });
      const handle = await rt.submit('patient');
      await until(rt, () => statusOf(rt, handle.id).status === 'waiting');
      await rt.signal(handle.id, 'go', 'in time');
      assert.equal((await handle.result()).result, 'in time');
      clock.advance(5_000);
      await settle();
      assert.equal(statusOf(rt, handle.id).status, 'completed');
    });
  });

  it('sleeps durably: resumes once the clock has passed the end, not before', () => {
    const clock = new ManualClock();
    return withRuntime({ clock }, async (rt) => {
      rt.define('nap', { handler: async (_input, ctx) => { await ctx.sleep('cool-down', 5_000); return 'rested'; } });
      const handle = await rt.submit('nap');
      await until(rt, () => statusOf(rt, handle.id).status === 'waiting');
      assert.deepEqual(statusOf(rt, handle.id).waitingFor, { kind: 'sleep', name: 'cool-down', until: clock.now() + 5_000 });
      clock.advance(4_999);
      await settle();
      assert.equal(statusOf(rt, handle.id).status, 'waiting');
      clock.advance(1);
      assert.equal((await handle.result()).result, 'rested');
    });
  });

  it('runs the handler again from the top: code outside steps runs again, steps and waits return their recorded values', () => {
    const clock = new ManualClock();
    return withRuntime({ clock }, async (rt) => {
      const counts = { top: 0, draft: 0 };
      rt.define('agent', {
        handler: async (_input, ctx) => {
          counts.top++;
          const draft = await ctx.step('draft', () => { counts.draft++; return 'v1'; });
          const decision = await ctx.waitForSignal('approval');
          await ctx.sleep('cool-down', 100);
          return { draft, decision, attempt: ctx.attempt };
        },
      });
      const handle = await rt.submit('agent');
      await until(rt, () => statusOf(rt, handle.id).waitingFor?.kind === 'signal');
      await rt.signal(handle.id, 'approval', 'ok');
      await until(rt, () => statusOf(rt, handle.id).waitingFor?.kind === 'sleep');
      clock.advance(100);
      const outcome = await handle.result();
      assert.deepEqual(outcome.result, { draft: 'v1', decision: 'ok', attempt: 3 });
      assert.deepEqual(counts, { top: 3, draft: 1 });
      assert.equal(rt.metrics().tasks.retried, 0);
    });
  });

  it('signalling an unknown task or one that has ended fails with the matching code', () =>
    withRuntime({}, async (rt) => {
      rt.define('quick', { handler: () => 1 });
      await assert.rejects(rt.signal('nope', 'go', 1), { code: 'STEWARD_TASK_NOT_FOUND' });
      const handle = await rt.submit('quick');
      await handle.result();
      await assert.rejects(rt.signal(handle.id, 'go', 1), { code: 'STEWARD_INVALID_STATE' });
      await assert.rejects(rt.signal(handle.id, '', 1), { code: 'STEWARD_INVALID_OPTIONS' });
    }));

  it('a waiting task can be cancelled, and its timer goes with it', () => {
    const clock = new ManualClock();
    return withRuntime({ clock }, async (rt) => {
      rt.define('nap', { handler: async (_input, ctx) => ctx.sleep('long', 60_000) });
      const handle = await rt.submit('nap');
      await until(rt, () => statusOf(rt, handle.id).status === 'waiting');
      const pending = clock.pending;
      assert.deepEqual(await rt.cancel(handle.id, 'no need'), { cancelled: true, status: 'cancelled' });
      assert.equal(clock.pending, pending - 1);
      assert.equal(statusOf(rt, handle.id).waitingFor, undefined);
      assert.equal(rt.queueStatus().waiting, 0);
    });
  });

  it('a worker-thread handler waits, sleeps and resumes; its thread is free meanwhile', () => {
    const clock = new ManualClock();
    return withRuntime({ clock, workers: { maxThreads: 1 } }, async (rt) => {
      rt.define('approve', { module: WAITS });
      rt.define('patient', { module: WAITS, export: 'patient' });
      const handle = await rt.submit('approve', { topic: 'release notes' });
      await until(rt, () => statusOf(rt, handle.id).status === 'waiting');
      // The only thread is free: another worker task runs and times out its own wait.
      const other = await rt.submit('patient');
      await until(rt, () => statusOf(rt, other.id).status === 'waiting');
      clock.advance(500);
      assert.equal((await other.result()).result, 'gave up: STEWARD_SIGNAL_TIMEOUT');
      await rt.signal(handle.id, 'approval', { approved: true });
      await until(rt, () => statusOf(rt, handle.id).waitingFor?.kind === 'sleep');
      clock.advance(1_000);
      const outcome = await handle.result();
      assert.deepEqual(outcome.result, { draft: 'draft about release notes', decision: { approved: true }, inWorker: true });
    });
  });

  it('a restart of a real LevelDB directory in the middle of a wait loses nothing; a signal sent before the wait survives too', () =>
    withDir(async (dataDir) => {
      const clock = new ManualClock();
      let rt = await createRuntime({ dataDir, clock });
      rt.define('review', { handler: approval });
      rt.define('later', { handler: async (_input, ctx) => { await ctx.sleep('first', 1_000); return ctx.waitForSignal('early'); } });
      const waiting = await rt.submit('review');
      const early = await rt.submit('later');
      await until(rt, () => statusOf(rt, waiting.id).status === 'waiting' && statusOf(rt, early.id).status === 'waiting');
      await rt.signal(early.id, 'early', 'kept');
      await rt.shutdown({ timeoutMs: 0 });

      rt = await createRuntime({ dataDir, clock });
      try {
        rt.define('review', { handler: approval });
        rt.define('later', { handler: async (_input, ctx) => { await ctx.sleep('first', 1_000); return ctx.waitForSignal('early'); } });
        assert.deepEqual(statusOf(rt, waiting.id).waitingFor, { kind: 'signal', name: 'approval' });
        assert.equal(rt.queueStatus().waiting, 2);
        assert.deepEqual(await rt.signal(waiting.id, 'approval', 'after restart'), { delivered: true, taskStatus: 'queued' });
        assert.deepEqual((await resultOf(rt, waiting.id)).result, { decision: 'after restart' });
        clock.advance(1_000);
        assert.equal((await resultOf(rt, early.id)).result, 'kept');
      } finally {
        await rt.shutdown({ timeoutMs: 0 });
      }
    }));

  it('a restart of a real LevelDB directory in the middle of a sleep resumes it with the time left', () =>
    withDir(async (dataDir) => {
      const start = 1_700_000_000_000;
      const nap = async (_input: unknown, ctx: TaskContext) => { await ctx.sleep('nap', 10_000); return 'rested'; };
      let rt = await createRuntime({ dataDir, clock: new ManualClock(start) });
      rt.define('nap', { handler: nap });
      const handle = await rt.submit('nap');
      await until(rt, () => statusOf(rt, handle.id).status === 'waiting');
      await rt.shutdown({ timeoutMs: 0 });

      const clock = new ManualClock(start + 6_000);
      rt = await createRuntime({ dataDir, clock });
      try {
        rt.define('nap', { handler: nap });
        assert.deepEqual(statusOf(rt, handle.id).waitingFor, { kind: 'sleep', name: 'nap', until: start + 10_000 });
        clock.advance(3_999);
        await settle();
        assert.equal(statusOf(rt, handle.id).status, 'waiting');
        clock.advance(1);
        assert.equal((await resultOf(rt, handle.id)).result, 'rested');
      } finally {
        await rt.shutdown({ timeoutMs: 0 });
      }
    }));
});
