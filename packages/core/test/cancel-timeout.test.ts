import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock, withRuntime } from '../src/testing.js';
import { deferred, settle } from './helpers.js';

describe('cancel and timeout of inline tasks', () => {
  it('cancels a queued task before it starts', () =>
    withRuntime({ concurrency: 1 }, async (rt) => {
      const gate = deferred();
      let ran = 0;
      rt.define('slow', { handler: () => gate.promise });
      rt.define('count', { handler: () => ran++ });
      await rt.submit('slow');
      const queued = await rt.submit('count');
      assert.deepEqual(await rt.cancel(queued.id, 'changed my mind'), { cancelled: true, status: 'cancelled' });
      gate.resolve();
      await settle();
      assert.equal(ran, 0);
      const outcome = await queued.result();
      assert.equal(outcome.status, 'cancelled');
      assert.equal(outcome.error?.code, 'STEWARD_CANCELLED');
      assert.equal(outcome.error?.message, 'changed my mind');
      assert.equal(rt.queueStatus().queued, 0);
    }));

  it('cancels a running task, fires its signal and ignores its late result', () =>
    withRuntime({}, async (rt) => {
      const gate = deferred();
      let aborted: unknown;
      rt.define('slow', {
        handler: async (_input, ctx) => {
          ctx.signal.addEventListener('abort', () => (aborted = ctx.signal.reason));
          await gate.promise;
          return 'late';
        },
      });
      const handle = await rt.submit('slow');
      await settle();
      assert.deepEqual(await handle.cancel(), { cancelled: true, status: 'cancelled' });
      assert.equal(aborted, 'cancelled');
      gate.resolve();
      await settle();
      assert.equal(handle.getStatus().status, 'cancelled');
      assert.equal(handle.getStatus().result, undefined);
    }));

  it('answers cancelled: false for a task that already ended', () =>
    withRuntime({}, async (rt) => {
      rt.define('t', { handler: () => 1 });
      const handle = await rt.submit('t');
      await handle.result();
      assert.deepEqual(await handle.cancel(), { cancelled: false, status: 'completed' });
    }));

  it('times out an inline task on the clock and fires its signal', () => {
    const clock = new ManualClock();
    return withRuntime({ clock }, async (rt) => {
      let reason: unknown;
      rt.define('stuck', { handler: (_i, ctx) => new Promise(() => ctx.signal.addEventListener('abort', () => (reason = ctx.signal.reason))) });
      const handle = await rt.submit('stuck', null, { timeoutMs: 500 });
      await settle();
      clock.advance(499);
      await settle();
      assert.equal(handle.getStatus().status, 'running');
      clock.advance(20);
      const outcome = await handle.result();
      assert.equal(outcome.status, 'timed_out');
      assert.equal(outcome.error?.code, 'STEWARD_TIMEOUT');
      assert.equal(reason, 'timed_out');
    });
  });

  it('takes the definition’s timeout unless the submission sets one', () => {
    const clock = new ManualClock();
    return withRuntime({ clock }, async (rt) => {
      rt.define('stuck', { timeoutMs: 100, handler: () => new Promise(() => undefined) });
      const short = await rt.submit('stuck');
      const long = await rt.submit('stuck', null, { timeoutMs: 10_000 });
      await settle();
      clock.advance(200);
      await settle();
      assert.equal(short.getStatus().status, 'timed_out');
      assert.equal(long.getStatus().status, 'running');
    });
  });
});

describe('cancel at the edges of an attempt', () => {
  it('cancels a task from a task:started listener', () =>
    withRuntime({}, async (rt) => {
      let ran = false;
      rt.define('t', { handler: async (_i, ctx) => { await new Promise((r) => setTimeout(r, 0)); ran = !ctx.signal.aborted; return 1; } });
      rt.on('task:started', (e) => void rt.cancel(e.taskId, 'from a listener'));
      const outcome = await (await rt.submit('t')).result();
      assert.equal(outcome.status, 'cancelled');
      assert.equal(outcome.error?.message, 'from a listener');
      assert.equal(ran, false);
    }));

  it('resolves result() with the ended attempt even when a listener retries the task at once', () =>
    withRuntime({}, async (rt) => {
      let calls = 0;
      rt.define('t', { handler: () => { calls++; if (calls === 1) throw new Error('first'); return 'second'; } });
      rt.on('task:failed', (e) => void rt.retry(e.taskId));
      const handle = await rt.submit('t');
      const first = await handle.result();
      assert.equal(first.status, 'failed');
      assert.equal(first.error?.message, 'first');
      assert.ok(first.endedAt > 0);
    }));

  it('keeps the host alive when an executor throws instead of reporting', () =>
    withRuntime({ executors: [{ kind: 'process', execute() { throw new Error('boom'); }, async close() {} }] }, async (rt) => {
      rt.define('p', { command: 'x' });
      const outcome = await (await rt.submit('p')).result();
      assert.equal(outcome.status, 'failed');
      assert.equal(outcome.error?.code, 'STEWARD_EXECUTOR_ERROR');
      assert.equal(rt.queueStatus().running, 0);
    }));

  it('logs a throwing on() listener instead of crashing', async () => {
    const errors: string[] = [];
    await withRuntime({ logger: { warn: () => undefined, error: (m: string) => errors.push(m) } }, async (rt) => {
      rt.define('t', { handler: () => 1 });
      rt.on('task:completed', () => { throw new Error('listener bug'); });
      assert.equal(await rt.run('t'), 1);
      assert.equal(errors.length, 1);
    });
  });
});
