import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRuntime, isStewardError } from '../src/index.js';
import { withRuntime } from '../src/testing.js';
import { deferred, settle, WORKERS } from './helpers.js';

const code = (c: string, messageStart?: string) => (error: unknown) =>
  isStewardError(error) && error.code === c && (messageStart === undefined || error.message.startsWith(messageStart));

describe('validation', () => {
  it('rejects an unknown task type', () =>
    withRuntime({}, async (rt) => {
      await assert.rejects(rt.submit('nope'), code('STEWARD_UNKNOWN_TASK_TYPE'));
    }));

  it('rejects a bad priority, by name or by number', () =>
    withRuntime({}, async (rt) => {
      rt.define('t', { handler: () => 1 });
      await assert.rejects(rt.submit('t', null, { priority: 'urgent' }), code('STEWARD_INVALID_OPTIONS', 'options.priority'));
      await assert.rejects(rt.submit('t', null, { priority: Number.NaN }), code('STEWARD_INVALID_OPTIONS', 'options.priority'));
    }));

  it('rejects bad options with the path of the bad field, and unknown options', () =>
    withRuntime({}, async (rt) => {
      rt.define('t', { handler: () => 1 });
      await assert.rejects(rt.submit('t', null, { retries: { attempts: -1 } }), code('STEWARD_INVALID_OPTIONS', 'options.retries.attempts'));
      await assert.rejects(rt.submit('t', null, { timeoutMs: 1.5 }), code('STEWARD_INVALID_OPTIONS', 'options.timeoutMs'));
      await assert.rejects(rt.submit('t', null, { lockz: ['x'] } as never), code('STEWARD_INVALID_OPTIONS'));
    }));

  it('rejects input that cannot be cloned', () =>
    withRuntime({}, async (rt) => {
      rt.define('t', { handler: () => 1 });
      await assert.rejects(rt.submit('t', { fn: () => 1 }), code('STEWARD_NOT_SERIALIZABLE'));
      await assert.rejects(rt.submit('t', { s: Symbol('x') }), code('STEWARD_NOT_SERIALIZABLE'));
    }));

  it('rejects an oversized payload', () =>
    withRuntime({ maxPayloadBytes: 1_024 }, async (rt) => {
      rt.define('t', { handler: () => 1 });
      await assert.rejects(rt.submit('t', 'x'.repeat(2_000)), code('STEWARD_PAYLOAD_TOO_LARGE'));
      await rt.submit('t', 'x'.repeat(100));
    }));

  it('refuses work past maxQueue and accepts it again once the queue drains', () =>
    withRuntime({ concurrency: 1, maxQueue: 2 }, async (rt) => {
      const gate = deferred();
      rt.define('slow', { handler: () => gate.promise });
      const running = await rt.submit('slow');
      await settle();
      await rt.submit('slow');
      await rt.submit('slow');
      await assert.rejects(rt.submit('slow'), code('STEWARD_QUEUE_FULL'));
      gate.resolve();
      await running.result();
      await settle();
      await rt.submit('slow');
    }));

  it('stays healthy after every kind of rejection', () =>
    withRuntime({ maxPayloadBytes: 100 }, async (rt) => {
      rt.define('t', { handler: (input) => input });
      await rt.submit('t', () => 1).catch(() => undefined);
      await rt.submit('t', 'x'.repeat(500)).catch(() => undefined);
      await rt.submit('nope').catch(() => undefined);
      await rt.submit('t', null, { priority: 'nope' }).catch(() => undefined);
      assert.equal(await rt.run('t', 'still fine'), 'still fine');
      assert.equal(rt.metrics().tasks.submitted, 1);
      assert.equal(rt.list().length, 1);
    }));

  it('validates runtime options and definitions with the option path', async () => {
    await assert.rejects(createRuntime({ concurrency: 0 }), code('STEWARD_INVALID_OPTIONS', 'options.concurrency'));
    await assert.rejects(createRuntime({ agingMs: -5 }), code('STEWARD_INVALID_OPTIONS', 'options.agingMs'));
    await assert.rejects(createRuntime({ bogus: 1 } as never), code('STEWARD_INVALID_OPTIONS'));
    await withRuntime({}, async (rt) => {
      assert.throws(() => rt.define('x', {} as never), code('STEWARD_INVALID_OPTIONS'));
      assert.throws(() => rt.define('x', { handler: 5 } as never), code('STEWARD_INVALID_OPTIONS', 'definition "x".handler'));
      assert.throws(() => rt.define('x', { module: 'relative/path.js' }), code('STEWARD_INVALID_OPTIONS'));
      assert.throws(() => rt.define('x', { command: 'ls' }), code('STEWARD_INVALID_OPTIONS'));
      assert.throws(() => rt.define('x', { module: WORKERS, priority: 'nope' }), code('STEWARD_INVALID_OPTIONS'));
    });
  });

  it('rejects operations on unknown ids', () =>
    withRuntime({}, async (rt) => {
      await assert.rejects(rt.cancel('missing'), code('STEWARD_TASK_NOT_FOUND'));
      await assert.rejects(rt.retry('missing'), code('STEWARD_TASK_NOT_FOUND'));
    }));
});

describe('validation of the other entry points', () => {
  it('refuses a batch-wide idempotency key and leaves no orphans when an item is bad', () =>
    withRuntime({}, async (rt) => {
      rt.define('x', { handler: () => 1 });
      await assert.rejects(rt.executeMultiple([{ type: 'x' }], { idempotencyKey: 'k' }), code('STEWARD_INVALID_OPTIONS'));
      await assert.rejects(rt.executeMultiple([{ type: 'x' }, { type: 'nope' }]), code('STEWARD_UNKNOWN_TASK_TYPE'));
      await assert.rejects(rt.executeMultiple([{ type: 'x' }, { type: 'x', input: () => 1 }]), code('STEWARD_NOT_SERIALIZABLE'));
      await settle();
      assert.deepEqual(rt.list().map((t) => t.status), ['cancelled']);
    }));

  it('refuses an idempotency key that names a task of another type', () =>
    withRuntime({}, async (rt) => {
      rt.define('x', { handler: () => 1 });
      rt.define('y', { handler: () => 2 });
      await rt.submit('x', null, { idempotencyKey: 'k' });
      await assert.rejects(rt.submit('y', null, { idempotencyKey: 'k' }), code('STEWARD_INVALID_STATE'));
    }));

  it('answers bad arguments to list, queueStatus, on, cancel and shutdown with STEWARD_INVALID_OPTIONS', () =>
    withRuntime({}, async (rt) => {
      assert.throws(() => rt.list(null as never), code('STEWARD_INVALID_OPTIONS'));
      assert.throws(() => rt.queueStatus({ limit: -1 }), code('STEWARD_INVALID_OPTIONS'));
      assert.throws(() => rt.on('task:exploded' as never, () => undefined), code('STEWARD_INVALID_OPTIONS'));
      rt.define('x', { handler: () => new Promise(() => undefined) });
      const handle = await rt.submit('x');
      await assert.rejects(rt.cancel(handle.id, 42 as never), code('STEWARD_INVALID_OPTIONS'));
      await assert.rejects(rt.shutdown({ timeoutMs: Number.NaN }), code('STEWARD_INVALID_OPTIONS'));
    }));

  it('answers calls after shutdown with STEWARD_SHUTTING_DOWN', async () => {
    const rt = await createRuntime({});
    rt.define('x', { handler: () => new Promise(() => undefined) });
    const handle = await rt.submit('x');
    await rt.shutdown({ timeoutMs: 0 });
    await assert.rejects(rt.cancel(handle.id), code('STEWARD_SHUTTING_DOWN'));
    await assert.rejects(rt.retry(handle.id), code('STEWARD_SHUTTING_DOWN'));
    assert.throws(() => rt.define('y', { handler: () => 1 }), code('STEWARD_SHUTTING_DOWN'));
  });
});
