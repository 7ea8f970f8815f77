import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRuntime, type CreateRuntimeOptions } from '../api/create-runtime.js';
import type { Runtime } from '../api/runtime.js';
import { StewardError } from '../model/errors.js';

/** A fresh store for one test: the options of a node that uses it, and how to let it go. */
export interface TransportUnderTest {
  /** Options for a runtime on this store (every runtime made with them shares it). */
  options(): CreateRuntimeOptions;
  close(): Promise<void>;
}

/** How a transport is set up for the suite. */
export interface TransportConformanceFactory {
  open(): Promise<TransportUnderTest>;
}

/** A promise and the function that settles it. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/**
 * The shared test suite every transport must pass (the local one, `bullmqTransport`,
 * and any a user writes), through the public API of one runtime on it: results through
 * handles, get and list; idempotency keys; priority order; cancel of a queued and of a
 * running task; the events of a task; durable steps across attempts; clear errors.
 */
export function transportConformance(name: string, factory: TransportConformanceFactory): void {
  describe(`${name} conforms to the transport contract`, () => {
    async function withNode(options: CreateRuntimeOptions, fn: (rt: Runtime) => Promise<void>): Promise<void> {
      const store = await factory.open();
      const rt = await createRuntime({ ...store.options(), ...options });
      try {
        await fn(rt);
      } finally {
        await rt.shutdown({ timeoutMs: 0 });
        await store.close();
      }
    }

    it('runs a submitted task; its handle, get and list give the result', () =>
      withNode({ concurrency: 2 }, async (rt) => {
        rt.define('double', { handler: (input: { n: number }) => input.n * 2 });
        const handle = await rt.submit('double', { n: 21 });
        const outcome = await handle.result();
        assert.equal(outcome.status, 'completed');
        assert.equal(outcome.result, 42);
        assert.equal(rt.get(handle.id)?.status, 'completed');
        assert.equal(rt.get(handle.id)?.result, 42);
        assert.ok(rt.list({ status: 'completed' }).some((task) => task.id === handle.id));
        assert.equal((await rt.task(handle.id)?.result())?.result, 42);
      }));

    it('answers a second submission with the same idempotency key with the same task', () =>
      withNode({ concurrency: 2 }, async (rt) => {
        let runs = 0;
        rt.define('once', { handler: () => ++runs });
        const first = await rt.submit('once', null, { idempotencyKey: 'order-7' });
        const second = await rt.submit('once', null, { idempotencyKey: 'order-7' });
        assert.equal(second.id, first.id);
        await first.result();
        const third = await rt.submit('once', null, { idempotencyKey: 'order-7' });
        assert.equal(third.id, first.id);
        assert.equal(runs, 1);
      }));

    it('starts waiting tasks by priority', () =>
      withNode({ concurrency: 1 }, async (rt) => {
        const release = gate();
        const started: string[] = [];
        rt.define('hold', { handler: () => release.promise });
        rt.define('mark', { handler: (input: string) => void started.push(input) });
        const hold = await rt.submit('hold');
        await until(rt, () => rt.get(hold.id)?.status === 'running');
        const low = await rt.submit('mark', 'low', { priority: 'low' });
        const high = await rt.submit('mark', 'high', { priority: 'high' });
        release.open();
        await Promise.all([hold.result(), low.result(), high.result()]);
        assert.deepEqual(started, ['high', 'low']);
      }));

    it('cancels a queued task, which then never runs', () =>
      withNode({ concurrency: 1 }, async (rt) => {
        const release = gate();
        let ran = false;
        rt.define('hold', { handler: () => release.promise });
        rt.define('never', { handler: () => void (ran = true) });
        const hold = await rt.submit('hold');
        await until(rt, () => rt.get(hold.id)?.status === 'running');
        const queued = await rt.submit('never');
        const answer = await rt.cancel(queued.id, 'not needed');
        assert.equal(answer.cancelled, true);
        release.open();
        await hold.result();
        const outcome = await queued.result();
        assert.equal(outcome.status, 'cancelled');
        assert.equal(ran, false);
        assert.equal(rt.get(queued.id)?.status, 'cancelled');
      }));

    it('cancels a running task and really stops it', () =>
      withNode({ concurrency: 1 }, async (rt) => {
        let aborted = false;
        rt.define('wait', {
          handler: (_input, ctx) =>
            new Promise((resolve) =>
              ctx.signal.addEventListener('abort', () => {
                aborted = true;
                resolve(null);
              }),
            ),
        });
        const handle = await rt.submit('wait');
        await until(rt, () => rt.get(handle.id)?.status === 'running');
        await rt.cancel(handle.id, 'stop now');
        const outcome = await handle.result();
        assert.equal(outcome.status, 'cancelled');
        assert.equal(aborted, true);
      }));

    it('tells the events of a task, in order, on events$', () =>
      withNode({ concurrency: 1 }, async (rt) => {
        rt.define('quick', { handler: () => 'done' });
        const seen: string[] = [];
        const subscription = rt.events$.subscribe((event) => {
          if (event.type.startsWith('task:')) seen.push(`${event.type} ${event.taskId ?? ''}`);
        });
        const handle = await rt.submit('quick');
        await handle.result();
        await until(rt, () => seen.includes(`task:completed ${handle.id}`));
        subscription.unsubscribe();
        const mine = seen.filter((line) => line.endsWith(handle.id)).map((line) => line.split(' ')[0]);
        assert.deepEqual(mine, ['task:submitted', 'task:queued', 'task:started', 'task:completed']);
      }));

    it('gives a later attempt the steps recorded before, without running them again', () =>
      withNode({ concurrency: 1 }, async (rt) => {
        let stepRuns = 0;
        rt.define('stepped', {
          retries: { attempts: 1, delayMs: 1 },
          handler: async (_input, ctx) => {
            const value = await ctx.step('one', () => ++stepRuns * 10);
            if (ctx.attempt === 1) throw Object.assign(new Error('once more'), { retryable: true });
            return value;
          },
        });
        const outcome = await (await rt.submit('stepped')).result();
        assert.equal(outcome.status, 'completed');
        assert.equal(outcome.result, 10);
        assert.equal(stepRuns, 1);
      }));

    it('answers an unknown task with STEWARD_TASK_NOT_FOUND and a bad submission with a StewardError', () =>
      withNode({ concurrency: 1 }, async (rt) => {
        rt.define('quick', { handler: () => 'done' });
        await assert.rejects(() => rt.cancel('no-such-task'), (error: unknown) => error instanceof StewardError && error.code === 'STEWARD_TASK_NOT_FOUND');
        assert.equal(rt.get('no-such-task'), undefined);
        await assert.rejects(() => rt.submit('quick', null, { priority: 'nope' }), (error: unknown) => error instanceof StewardError && error.code === 'STEWARD_INVALID_OPTIONS');
      }));
  });
}

/** Resolves once `check` holds: now, or after one of the runtime's events. */
export function until(rt: Runtime, check: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    let done = false;
    const finish = () => {
      if (done || !check()) return;
      done = true;
      queueMicrotask(() => subscription.unsubscribe());
      resolve();
    };
    const subscription = rt.events$.subscribe(finish);
    finish();
  });
}
