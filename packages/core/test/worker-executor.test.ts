import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { WORKER_ENTRY } from '../src/executors/worker/worker-executor.js';
import { withRuntime } from '../src/testing.js';
import { settle, WORKERS } from './helpers.js';

const workers = { minThreads: 1, maxThreads: 2 };

describe('worker-thread execution', () => {
  // Piscina require()s its entry first. For an ES module entry, Node 20.19+ takes its
  // synchronous require(esm) path there, and a thread terminated inside it aborts the
  // whole host process (FATAL ERROR: v8::Module::IsGraphAsync ...; seen once in CI).
  // Reproducing that race takes luck, so this checks the property that rules it out.
  it('hands Piscina a CommonJS entry, so a thread never loads it through require(esm)', () => {
    const loaded: unknown = createRequire(import.meta.url)(fileURLToPath(WORKER_ENTRY));
    assert.equal(typeof loaded, 'function', 'require() of the entry gives the handler itself, as only a CommonJS module can');
  });

  it('runs the module’s export in a worker thread with a working ctx', () =>
    withRuntime({ concurrency: 2, workers }, async (rt) => {
      rt.define('double', { module: WORKERS });
      const handle = await rt.submit('double', { n: 21 });
      const progress: Array<[number, string | undefined]> = [];
      handle.progress$.subscribe((p) => progress.push([p.percent, p.message]));
      const outcome = await handle.result();
      assert.equal(outcome.status, 'completed');
      assert.deepEqual(outcome.result, { doubled: 42, attempt: 1, inWorker: true });
      assert.deepEqual(progress, [[50, 'half way'], [100, undefined]]);
      const lines: string[] = [];
      for await (const chunk of rt.output(handle.id)) lines.push(`${chunk.stream}:${chunk.data}`);
      assert.deepEqual(lines, ['log:doubling 21']);
    }));

  it('brings back every log line written before the result, in order', () =>
    withRuntime({ concurrency: 2, workers }, async (rt) => {
      rt.define('chatty', { module: WORKERS, export: 'chatty' });
      const handle = await rt.submit('chatty', { lines: 300 });
      assert.equal((await handle.result()).result, 300);
      const lines: string[] = [];
      for await (const chunk of rt.output(handle.id)) lines.push(chunk.data);
      assert.equal(lines.length, 300);
      assert.equal(lines[0], 'line 0');
      assert.equal(lines[299], 'line 299');
    }));

  it('carries a handler error across as data with its own code', () =>
    withRuntime({ concurrency: 2, workers }, async (rt) => {
      rt.define('refuse', { module: WORKERS, export: 'refuse', retries: { attempts: 3 } });
      const outcome = await (await rt.submit('refuse')).result();
      assert.equal(outcome.status, 'failed');
      assert.equal(outcome.attempts, 1);
      assert.equal(outcome.error?.code, 'QUOTA');
      assert.equal(outcome.error?.retryable, false);
      assert.match(outcome.error?.stack ?? '', /refuse/);
    }));

  it('ends a task stuck in while(true) as timed_out and still runs the next 100 tasks on a full pool', () =>
    withRuntime({ concurrency: 2, workers }, async (rt) => {
      rt.define('spin', { module: WORKERS, export: 'spin' });
      rt.define('noop', { module: WORKERS, export: 'noop' });
      const started = performance.now();
      const stuck = await rt.submit('spin', null, { timeoutMs: 500 });
      const outcome = await stuck.result();
      const tookMs = performance.now() - started;
      assert.equal(outcome.status, 'timed_out');
      assert.equal(outcome.error?.code, 'STEWARD_TIMEOUT');
      const handles = await Promise.all(Array.from({ length: 100 }, () => rt.submit('noop')));
      const outcomes = await Promise.all(handles.map((h) => h.result()));
      assert.equal(outcomes.filter((o) => o.status === 'completed').length, 100);
      // Reported, not asserted: wall time depends on the machine.
      console.log(`# while(true) with timeoutMs 500 ended after ${Math.round(tookMs)} ms`);
    }));

  it('stops a running worker task on cancel by terminating its thread', () =>
    withRuntime({ concurrency: 1, workers: { minThreads: 1, maxThreads: 1 } }, async (rt) => {
      rt.define('spin', { module: WORKERS, export: 'spin' });
      rt.define('noop', { module: WORKERS, export: 'noop' });
      const stuck = await rt.submit('spin');
      await settle(20);
      while (stuck.getStatus().status !== 'running') await settle();
      assert.deepEqual(await stuck.cancel('stop'), { cancelled: true, status: 'cancelled' });
      // The only thread was spinning: the next task can only run if it was really stopped.
      assert.equal(await rt.run('noop'), 1);
    }));

  it('fails only its own attempt with STEWARD_WORKER_CRASHED when a thread calls process.exit', () =>
    withRuntime({ concurrency: 2, workers }, async (rt) => {
      rt.define('exit', { module: WORKERS, export: 'exit' });
      rt.define('double', { module: WORKERS });
      const crashed = await rt.submit('exit');
      const healthy = await rt.submit('double', { n: 1 });
      const [a, b] = await Promise.all([crashed.result(), healthy.result()]);
      assert.equal(a.status, 'failed');
      assert.equal(a.error?.code, 'STEWARD_WORKER_CRASHED');
      assert.equal(b.status, 'completed');
      assert.equal(rt.metrics().restarts, 1);
      assert.deepEqual(await rt.run('double', { n: 2 }), { doubled: 4, attempt: 1, inWorker: true });
    }));

  it('fails with STEWARD_WORKER_CRASHED on an uncaught error thrown from a timer in the thread', () =>
    withRuntime({ concurrency: 2, workers }, async (rt) => {
      rt.define('timer', { module: WORKERS, export: 'timerThrow' });
      const outcome = await (await rt.submit('timer')).result();
      assert.equal(outcome.error?.code, 'STEWARD_WORKER_CRASHED');
      assert.match(outcome.error?.message ?? '', /thrown from a timer/);
    }));

  it('fails with STEWARD_WORKER_CRASHED when a thread passes its memory limit', () =>
    withRuntime({ concurrency: 1, workers: { ...workers, resourceLimits: { maxOldGenerationSizeMb: 32 } } }, async (rt) => {
      rt.define('hog', { module: WORKERS, export: 'hog' });
      rt.define('noop', { module: WORKERS, export: 'noop' });
      const outcome = await (await rt.submit('hog')).result();
      assert.equal(outcome.status, 'failed');
      assert.equal(outcome.error?.code, 'STEWARD_WORKER_CRASHED');
      assert.equal(await rt.run('noop'), 1);
    }));

  it('retries a crashed attempt like any retryable failure', () =>
    withRuntime({ concurrency: 1, workers }, async (rt) => {
      rt.define('exit', { module: WORKERS, export: 'exit', retries: { attempts: 1, delayMs: 0, jitter: false } });
      const outcome = await (await rt.submit('exit')).result();
      assert.equal(outcome.attempts, 2);
      assert.equal(outcome.error?.code, 'STEWARD_WORKER_CRASHED');
    }));

  it('fails with STEWARD_NOT_SERIALIZABLE when the result cannot cross back', () =>
    withRuntime({ concurrency: 1, workers }, async (rt) => {
      rt.define('bad', { module: WORKERS, export: 'uncloneable', retries: { attempts: 2 } });
      const outcome = await (await rt.submit('bad')).result();
      assert.equal(outcome.error?.code, 'STEWARD_NOT_SERIALIZABLE');
      assert.equal(outcome.attempts, 1);
    }));

  it('fails without retrying when the module has no such export', () =>
    withRuntime({ concurrency: 1, workers }, async (rt) => {
      rt.define('missing', { module: WORKERS, export: 'doesNotExist', retries: { attempts: 2 } });
      const outcome = await (await rt.submit('missing')).result();
      assert.equal(outcome.error?.code, 'STEWARD_HANDLER_ERROR');
      assert.equal(outcome.error?.retryable, false);
      assert.equal(outcome.attempts, 1);
    }));
});
