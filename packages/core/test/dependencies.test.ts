import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createRuntime, isStewardError } from '../src/index.js';
import { withRuntime } from '../src/testing.js';
import { deferred, settle } from './helpers.js';

describe('task dependencies', () => {
  it('waits for its dependencies and sees their results in ctx.dependencies', () =>
    withRuntime({ concurrency: 4 }, async (rt) => {
      const gate = deferred();
      rt.define('slow', { handler: async (input: string) => (await gate.promise, `${input}!`) });
      let seen: unknown;
      rt.define('join', { handler: (_input, ctx) => (seen = ctx.dependencies) });
      const a = await rt.submit('slow', 'a');
      const b = await rt.submit('slow', 'b');
      const join = await rt.submit('join', null, { dependsOn: [a.id, b.id] });
      await settle();
      assert.equal(join.getStatus().status, 'waiting');
      assert.deepEqual(join.getStatus().dependsOn, [a.id, b.id]);
      assert.equal(rt.queueStatus().waiting, 1);
      assert.equal(rt.queueStatus().items.find((i) => i.id === join.id)?.reason, 'dependencies');
      gate.resolve();
      assert.equal((await join.result()).status, 'completed');
      assert.deepEqual(seen, { [a.id]: 'a!', [b.id]: 'b!' });
    }));

  it('fails dependents in cascade with STEWARD_DEPENDENCY_FAILED when a dependency fails', () =>
    withRuntime({}, async (rt) => {
      rt.define('bad', { handler: async () => { await settle(); throw new Error('no'); } });
      let ran = 0;
      rt.define('count', { handler: () => ++ran });
      const root = await rt.submit('bad');
      const child = await rt.submit('count', null, { dependsOn: [root.id] });
      const grandchild = await rt.submit('count', null, { dependsOn: [child.id] });
      const [c, g] = await Promise.all([child.result(), grandchild.result()]);
      assert.deepEqual([c.status, c.error?.code], ['failed', 'STEWARD_DEPENDENCY_FAILED']);
      assert.deepEqual([g.status, g.error?.code], ['failed', 'STEWARD_DEPENDENCY_FAILED']);
      assert.equal(ran, 0);
    }));

  it('runs anyway when told to, whatever its dependency did', () =>
    withRuntime({}, async (rt) => {
      rt.define('bad', { handler: () => { throw new Error('no'); } });
      rt.define('cleanup', { handler: (_i, ctx) => Object.keys(ctx.dependencies).length });
      const root = await rt.submit('bad');
      const cleanup = await rt.submit('cleanup', null, { dependsOn: [root.id], onDependencyFailure: 'run' });
      assert.equal((await cleanup.result()).result, 0, 'a failed dependency has no result to see');
    }));

  it('places a task at once when its dependencies have already ended', () =>
    withRuntime({}, async (rt) => {
      rt.define('ok', { handler: () => 1 });
      rt.define('bad', { handler: () => { throw new Error('no'); } });
      const done = await rt.submit('ok');
      const failed = await rt.submit('bad');
      await Promise.all([done.result(), failed.result()]);
      assert.equal(await rt.run('ok', null, { dependsOn: [done.id] }), 1);
      const doomed = await rt.submit('ok', null, { dependsOn: [done.id, failed.id] });
      assert.equal((await doomed.result()).error?.code, 'STEWARD_DEPENDENCY_FAILED');
    }));

  it('rejects an unknown dependency at submit, so no cycle can form', () =>
    withRuntime({}, async (rt) => {
      rt.define('ok', { handler: () => 1 });
      await assert.rejects(rt.submit('ok', null, { dependsOn: ['nope'] }), (e: unknown) => isStewardError(e, 'STEWARD_INVALID_OPTIONS') && /options\.dependsOn\.0/.test(e.message));
      assert.equal(rt.list().length, 0);
    }));

  it('cancels a waiting task, and its own dependents fail', () =>
    withRuntime({}, async (rt) => {
      const gate = deferred();
      rt.define('slow', { handler: () => gate.promise });
      rt.define('ok', { handler: () => 1 });
      const root = await rt.submit('slow');
      const waiting = await rt.submit('ok', null, { dependsOn: [root.id] });
      const after = await rt.submit('ok', null, { dependsOn: [waiting.id] });
      assert.deepEqual(await waiting.cancel('changed plans'), { cancelled: true, status: 'cancelled' });
      assert.equal((await after.result()).error?.code, 'STEWARD_DEPENDENCY_FAILED');
      assert.equal(rt.queueStatus().waiting, 0);
      gate.resolve();
    }));

  it('waits again when a task failed by its dependency is retried with the dependency', () =>
    withRuntime({}, async (rt) => {
      let fail = true;
      rt.define('flaky', { handler: async () => { await settle(); if (fail) throw new Error('no'); return 'ok'; } });
      rt.define('after', { handler: (_i, ctx) => ctx.dependencies });
      const root = await rt.submit('flaky');
      const dependent = await rt.submit('after', null, { dependsOn: [root.id] });
      assert.equal((await dependent.result()).error?.code, 'STEWARD_DEPENDENCY_FAILED');
      fail = false;
      await rt.retry(root.id);
      const again = await rt.retry(dependent.id);
      assert.deepEqual((await again.result()).result, { [root.id]: 'ok' });
    }));

  it('keeps waiting tasks across a restart and runs them when their dependencies complete', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'steward-deps-'));
    try {
      const first = await createRuntime({ dataDir: dir });
      first.define('hold', { handler: () => new Promise(() => undefined) });
      first.define('after', { handler: (_i, ctx) => ctx.dependencies });
      const root = await first.submit('hold');
      const dependent = await first.submit('after', null, { dependsOn: [root.id] });
      await settle();
      await first.shutdown({ timeoutMs: 0 });
      const second = await createRuntime({ dataDir: dir });
      try {
        assert.equal(second.get(dependent.id)?.status, 'waiting');
        second.define('hold', { handler: () => 'released' });
        second.define('after', { handler: (_i, ctx) => ctx.dependencies });
        assert.deepEqual((await second.task(dependent.id)!.result()).result, { [root.id]: 'released' });
      } finally {
        await second.shutdown();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
