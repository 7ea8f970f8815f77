import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRuntime, isStewardError, TaskFailedError, type RuntimeEvent } from '../src/index.js';
import { withRuntime } from '../src/testing.js';
import { deferred, settle } from './helpers.js';

const code = (c: string) => (error: unknown) => isStewardError(error) && error.code === c;

describe('the runtime', () => {
  it('returns a handle at once and resolves the outcome when the task completes', () =>
    withRuntime({ concurrency: 1 }, async (rt) => {
      const gate = deferred();
      rt.define('wait', { handler: async (input: { n: number }) => (await gate.promise, input.n + 1) });
      const handle = await rt.submit('wait', { n: 1 });
      assert.equal(handle.type, 'wait');
      await settle();
      assert.equal(handle.getStatus().status, 'running');
      gate.resolve();
      const outcome = await handle.result();
      assert.equal(outcome.status, 'completed');
      assert.equal(outcome.result, 2);
      assert.equal(outcome.attempts, 1);
      assert.equal(handle.getStatus().status, 'completed');
      assert.equal(typeof handle.getStatus().durationMs, 'number');
    }));

  it('runs a task and returns its value with run(), and rejects with the task error when it fails', () =>
    withRuntime({}, async (rt) => {
      rt.define('ok', { handler: () => 'fine' });
      rt.define('bad', { handler: () => { throw new Error('nope'); } });
      assert.equal(await rt.run('ok'), 'fine');
      await assert.rejects(rt.run('bad'), (error: unknown) => {
        assert.ok(error instanceof TaskFailedError);
        assert.equal(error.code, 'STEWARD_TASK_FAILED');
        assert.equal(error.outcome.status, 'failed');
        assert.equal(error.taskError?.code, 'STEWARD_HANDLER_ERROR');
        return true;
      });
    }));

  it('gives fireAndForget an id and executeWithCallback a callback with the result or the failure', () =>
    withRuntime({}, async (rt) => {
      rt.define('echo', { handler: (input) => input });
      rt.define('bad', { handler: () => { throw new Error('nope'); } });
      const id = await rt.fireAndForget('echo', 'x');
      assert.equal(typeof id, 'string');
      assert.equal((await rt.task(id)!.result()).result, 'x');
      const good = deferred<[unknown, unknown]>();
      await rt.executeWithCallback('echo', 'y', (error, result) => good.resolve([error, result]));
      assert.deepEqual(await good.promise, [null, 'y']);
      const failed = deferred<unknown>();
      await rt.executeWithCallback('bad', null, (error) => failed.resolve(error));
      assert.ok((await failed.promise) instanceof TaskFailedError);
    }));

  it('runs several tasks with executeMultiple and reports success rate, durations and consistency', () =>
    withRuntime({}, async (rt) => {
      rt.define('answer', { handler: () => ({ value: 42, unit: 'x' }) });
      rt.define('other', { handler: () => ({ unit: 'x', value: 42 }) });
      rt.define('bad', { handler: () => { throw new Error('nope'); } });
      const { results, report } = await rt.executeMultiple([
        { type: 'answer' },
        { type: 'other' },
        { type: 'bad' },
      ]);
      assert.deepEqual(results.map((r) => r.status), ['completed', 'completed', 'failed']);
      assert.equal(report.total, 3);
      assert.equal(report.successful, 2);
      assert.equal(report.failed, 1);
      assert.ok(Math.abs(report.successRate - 66.666) < 0.01);
      assert.deepEqual(report.consistency, { consistent: true, distinctResults: 1 });
      for (const key of ['totalDurationMs', 'averageDurationMs', 'p50DurationMs', 'p95DurationMs'] as const) {
        assert.equal(typeof report[key], 'number');
      }
    }));

  it('says results are inconsistent when successful tasks disagree', () =>
    withRuntime({}, async (rt) => {
      rt.define('echo', { handler: (input) => input });
      const { report } = await rt.executeMultiple([{ type: 'echo', input: 1 }, { type: 'echo', input: 2 }]);
      assert.deepEqual(report.consistency, { consistent: false, distinctResults: 2 });
    }));

  it('finds tasks with get, task and list (newest first, filtered, paged)', () =>
    withRuntime({ concurrency: 1 }, async (rt) => {
      rt.define('a', { handler: () => 'a' });
      rt.define('b', { handler: () => 'b' });
      const first = await rt.submit('a');
      const second = await rt.submit('b');
      const third = await rt.submit('a');
      await third.result();
      await second.result();
      assert.equal(rt.get(first.id)?.status, 'completed');
      assert.equal(rt.get('missing'), undefined);
      assert.equal(rt.task('missing'), undefined);
      assert.deepEqual(rt.list().map((t) => t.id), [third.id, second.id, first.id]);
      assert.deepEqual(rt.list({ type: 'a' }).map((t) => t.id), [third.id, first.id]);
      assert.deepEqual(rt.list({ limit: 1, offset: 1 }).map((t) => t.id), [second.id]);
      assert.deepEqual(rt.list({ status: 'failed' }), []);
    }));

  it('emits the life of a task as events and on() listens to one kind', () =>
    withRuntime({}, async (rt) => {
      rt.define('p', { handler: (_input, ctx) => { ctx.progress(30, 'a third'); ctx.log('hi'); return 1; } });
      const seen: RuntimeEvent['type'][] = [];
      const completed: string[] = [];
      rt.events({ policy: 'block' }).subscribe((e) => seen.push(e.type));
      const off = rt.on('task:completed', (e) => completed.push(e.taskId));
      const handle = await rt.submit('p');
      const progress: unknown[] = [];
      handle.progress$.subscribe((p) => progress.push({ percent: p.percent, message: p.message }));
      await handle.result();
      assert.deepEqual(seen, ['task:submitted', 'task:queued', 'task:started', 'task:progress', 'task:output', 'task:completed']);
      assert.deepEqual(completed, [handle.id]);
      assert.deepEqual(progress, [{ percent: 30, message: 'a third' }]);
      off();
      await rt.run('p');
      assert.equal(completed.length, 1);
    }));

  it('completes a handle’s streams when its task ends', () =>
    withRuntime({}, async (rt) => {
      rt.define('p', { handler: () => 1 });
      const handle = await rt.submit('p');
      const done = deferred<string[]>();
      const types: string[] = [];
      handle.events$.subscribe({ next: (e) => types.push(e.type), complete: () => done.resolve(types) });
      assert.deepEqual(await done.promise, ['task:started', 'task:completed']);
    }));

  it('keeps a task’s output and follows a running task’s output until it ends', () =>
    withRuntime({}, async (rt) => {
      const gate = deferred();
      rt.define('talk', {
        handler: async (_input, ctx) => {
          ctx.log('one');
          await gate.promise;
          ctx.log('two', { n: 2 });
          return 'done';
        },
      });
      const handle = await rt.submit('talk');
      await settle();
      const lines: string[] = [];
      const following = (async () => {
        for await (const chunk of rt.output(handle.id, { follow: true })) lines.push(`${chunk.stream}:${chunk.data}`);
      })();
      await settle();
      gate.resolve();
      await following;
      assert.deepEqual(lines, ['log:one', 'log:two {"n":2}']);
      const again: string[] = [];
      for await (const chunk of rt.output(handle.id)) again.push(chunk.data);
      assert.deepEqual(again, ['one', 'two {"n":2}']);
      assert.throws(() => rt.output('missing'), code('STEWARD_TASK_NOT_FOUND'));
    }));

  it('keeps only the tail of output past maxOutputBytes', () =>
    withRuntime({ maxOutputBytes: 1_024 }, async (rt) => {
      rt.define('chatty', { handler: (_input, ctx) => { for (let i = 0; i < 500; i++) ctx.log(`line ${String(i).padStart(4, '0')}`); } });
      const handle = await rt.submit('chatty');
      await handle.result();
      const chunks: string[] = [];
      for await (const chunk of rt.output(handle.id)) chunks.push(chunk.data);
      assert.ok(chunks.join('').length <= 1_024);
      assert.equal(chunks.at(-1), 'line 0499');
      assert.ok(chunks.length < 500);
    }));

  it('shows queued work and why it waits in queueStatus, and counts in metrics', () =>
    withRuntime({ concurrency: 1 }, async (rt) => {
      const gate = deferred();
      rt.define('slow', { handler: () => gate.promise });
      rt.define('fail', { handler: () => { throw new Error('x'); } });
      await rt.submit('slow');
      await settle();
      await rt.submit('slow', null, { priority: 'low' });
      await rt.submit('slow', null, { priority: 'critical' });
      await settle();
      const status = rt.queueStatus();
      assert.equal(status.running, 1);
      assert.equal(status.queued, 2);
      assert.equal(status.maxConcurrent, 1);
      assert.equal(status.throttled, false);
      assert.deepEqual(status.items.map((i) => [i.priority, i.position, i.reason]), [[5, 1, 'concurrency'], [2, 2, 'concurrency']]);
      gate.resolve();
      await rt.run('fail').catch(() => undefined);
      const metrics = rt.metrics();
      assert.equal(metrics.tasks.submitted, 4);
      assert.equal(metrics.tasks.completed, 3);
      assert.equal(metrics.tasks.failed, 1);
      assert.equal(metrics.successRate, 75);
      assert.ok(metrics.throughputPerSec > 0);
      assert.equal(metrics.durations.samples, 4);
      assert.ok(metrics.resources.rssMb > 0);
    }));

  it('shuts down: refuses new work, lets running work finish, and is disposable', async () => {
    const rt = await createRuntime({ concurrency: 1 });
    const gate = deferred();
    rt.define('slow', { handler: () => gate.promise.then(() => 'finished') });
    const running = await rt.submit('slow');
    const queued = await rt.submit('slow');
    await settle();
    const stopping = rt.shutdown({ timeoutMs: 5_000 });
    await assert.rejects(rt.submit('slow'), code('STEWARD_SHUTTING_DOWN'));
    gate.resolve();
    await stopping;
    assert.equal((await running.result()).result, 'finished');
    await assert.rejects(queued.result(), code('STEWARD_SHUTTING_DOWN'));
    assert.equal(rt.get(queued.id)?.status, 'queued');
    await rt.shutdown(); // twice is fine
    await rt[Symbol.asyncDispose]();
  });

  it('interrupts work still running when the shutdown grace period ends', async () => {
    const rt = await createRuntime({});
    const seen: string[] = [];
    rt.on('attempt:interrupted', (e) => seen.push(e.reason));
    let aborted = false;
    rt.define('forever', { handler: (_i, ctx) => new Promise((resolve) => ctx.signal.addEventListener('abort', () => { aborted = true; resolve(null); })) });
    const handle = await rt.submit('forever');
    await settle();
    await rt.shutdown({ timeoutMs: 0 });
    assert.equal(aborted, true);
    assert.deepEqual(seen, ['shutdown']);
    assert.equal(handle.getStatus().status, 'queued');
  });
});

describe('draining shutdown', () => {
  it('runs queued work and its retries before it stops', async () => {
    const rt = await createRuntime({ concurrency: 1 });
    let calls = 0;
    rt.define('flaky', { retries: { attempts: 1, delayMs: 0, jitter: false }, handler: () => { calls++; if (calls === 1) throw new Error('first'); return 'ok'; } });
    rt.define('echo', { handler: (input) => input });
    const flaky = await rt.submit('flaky');
    const queued = await rt.submit('echo', 'later');
    const results = Promise.all([flaky.result(), queued.result()]);
    await rt.shutdown({ drain: true, timeoutMs: 10_000 });
    const [a, b] = await results;
    assert.equal(a.status, 'completed');
    assert.equal(a.attempts, 2);
    assert.equal(b.result, 'later');
  });
});
