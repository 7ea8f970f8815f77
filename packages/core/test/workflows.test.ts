import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createRuntime, isStewardError, type Runtime } from '../src/index.js';
import { withRuntime } from '../src/testing.js';
import { deferred, settle } from './helpers.js';

function defineTypes(rt: Runtime, log: string[] = []) {
  rt.define('step', {
    handler: async (input: { name: string }, ctx) => {
      log.push(`start ${input.name}`);
      await settle(2);
      log.push(`end ${input.name}`);
      return { name: input.name, saw: Object.keys(ctx.dependencies).filter((k) => !k.includes('-')).sort() };
    },
  });
  rt.define('boom', { handler: () => { throw new Error('phase failed'); } });
  return log;
}

const threePhases = {
  name: 'Auth feature',
  phases: [
    { id: 'design', tasks: [{ id: 'arch', type: 'step', input: { name: 'arch' } }] },
    { id: 'build', dependsOn: ['design'], tasks: [{ id: 'api', type: 'step', input: { name: 'api' } }, { id: 'ui', type: 'step', input: { name: 'ui' } }] },
    { id: 'test', dependsOn: ['build'], tasks: [{ id: 'e2e', type: 'step', input: { name: 'e2e' } }] },
  ],
};

describe('workflows', () => {
  it('runs phases in dependency order, tasks of a phase in parallel, with upstream results in ctx.dependencies', () =>
    withRuntime({ concurrency: 4 }, async (rt) => {
      const log = defineTypes(rt);
      const events: string[] = [];
      // Every event handed over as it happens: the default policy may deliver late ones a turn later on a loaded machine.
      rt.events({ policy: 'block' }).subscribe((e) => {
        if (e.type.startsWith('workflow:')) events.push(`${e.type}${'phaseId' in e ? ` ${e.phaseId}` : ''}`);
      });
      const wf = await rt.workflow(threePhases);
      const outcome = await wf.result();
      assert.equal(outcome.status, 'completed');
      assert.deepEqual(Object.keys(outcome.results).sort(), ['api', 'arch', 'e2e', 'ui']);
      assert.deepEqual((outcome.results.api as { saw: string[] }).saw, ['arch']);
      assert.deepEqual((outcome.results.e2e as { saw: string[] }).saw, ['api', 'ui']);
      assert.ok(log.indexOf('end arch') < log.indexOf('start api'));
      assert.ok(log.indexOf('start ui') < log.indexOf('end api'), 'api and ui ran side by side');
      assert.ok(Math.max(log.indexOf('end api'), log.indexOf('end ui')) < log.indexOf('start e2e'));
      assert.deepEqual(events, [
        'workflow:started',
        'workflow:phase-started design',
        'workflow:phase-completed design',
        'workflow:phase-started build',
        'workflow:phase-completed build',
        'workflow:phase-started test',
        'workflow:phase-completed test',
        'workflow:completed',
      ]);
      const status = wf.getStatus();
      assert.equal(status.status, 'completed');
      assert.equal(status.progress, 100);
      assert.deepEqual(status.phases.map((p) => [p.id, p.status, p.completed, p.total]), [['design', 'completed', 1, 1], ['build', 'completed', 2, 2], ['test', 'completed', 1, 1]]);
      assert.equal(rt.list({ workflowId: wf.id }).length, 4);
    }));

  it('reports progress per phase while it runs', () =>
    withRuntime({ concurrency: 4 }, async (rt) => {
      const gate = deferred();
      rt.define('gate', { handler: () => gate.promise });
      rt.define('quick', { handler: () => 1 });
      const wf = await rt.workflow({
        name: 'gated',
        phases: [
          { id: 'one', tasks: [{ id: 'a', type: 'quick' }, { id: 'b', type: 'gate' }] },
          { id: 'two', dependsOn: ['one'], tasks: [{ id: 'c', type: 'quick' }] },
        ],
      });
      await settle(5);
      const status = wf.getStatus();
      assert.equal(status.status, 'running');
      assert.equal(status.progress, 33.3);
      assert.deepEqual(status.phases.map((p) => [p.id, p.status, p.completed]), [['one', 'running', 1], ['two', 'waiting', 0]]);
      gate.resolve();
      assert.equal((await wf.result()).status, 'completed');
    }));

  it('builds step by step with createWorkflow, addPhase, addTask and start', () =>
    withRuntime({}, async (rt) => {
      defineTypes(rt);
      const wf = await rt.createWorkflow({ name: 'incremental' });
      wf.addPhase({ id: 'first' });
      wf.addTask('first', { id: 'x', type: 'step', input: { name: 'x' } });
      wf.addPhase({ id: 'second', dependsOn: ['first'] });
      wf.addTask('second', { id: 'y', type: 'step', input: { name: 'y' } });
      assert.equal(wf.getStatus().status, 'pending');
      await wf.start();
      assert.equal((await wf.result()).status, 'completed');
      assert.throws(() => wf.addTask('second', { id: 'z', type: 'step' }), (e: unknown) => isStewardError(e, 'STEWARD_INVALID_STATE'));
      assert.equal(rt.getWorkflow(wf.id)?.getStatus().status, 'completed');
    }));

  it('fails when a task fails: later phases fail by dependency and the failure is listed', () =>
    withRuntime({}, async (rt) => {
      defineTypes(rt);
      const wf = await rt.workflow({
        name: 'breaks',
        phases: [
          { id: 'one', tasks: [{ id: 'bad', type: 'boom' }] },
          { id: 'two', dependsOn: ['one'], tasks: [{ id: 'after', type: 'step', input: { name: 'after' } }] },
        ],
      });
      const outcome = await wf.result();
      assert.equal(outcome.status, 'failed');
      assert.deepEqual(outcome.failedTasks.map((f) => [f.id, f.phaseId, f.error?.code]), [['bad', 'one', 'STEWARD_HANDLER_ERROR'], ['after', 'two', 'STEWARD_DEPENDENCY_FAILED']]);
      assert.deepEqual(wf.getStatus().phases.map((p) => p.status), ['failed', 'failed']);
    }));

  it('cancels what is running and queued', () =>
    withRuntime({ concurrency: 2 }, async (rt) => {
      rt.define('hold', { handler: (_i, ctx) => new Promise((resolve) => ctx.signal.addEventListener('abort', () => resolve(null))) });
      const wf = await rt.workflow({
        name: 'long',
        phases: [
          { id: 'one', tasks: [{ id: 'a', type: 'hold' }, { id: 'b', type: 'hold' }, { id: 'c', type: 'hold' }] },
          { id: 'two', dependsOn: ['one'], tasks: [{ id: 'd', type: 'hold' }] },
        ],
      });
      await settle(5);
      assert.deepEqual(await wf.cancel('stop'), { cancelled: true, status: 'cancelled' });
      const outcome = await wf.result();
      assert.equal(outcome.status, 'cancelled');
      assert.ok(rt.list({ workflowId: wf.id }).every((t) => t.status === 'cancelled'));
    }));

  it('cancels a workflow whose start a task was refused (a full queue): none is left half started', () =>
    withRuntime({ concurrency: 1, maxQueue: 2 }, async (rt) => {
      rt.define('hold', { handler: (_i, ctx) => new Promise((resolve) => ctx.signal.addEventListener('abort', () => resolve(null))) });
      const wf = await rt.createWorkflow({ name: 'too big' });
      wf.addPhase({ id: 'one', tasks: [{ id: 'a', type: 'hold' }, { id: 'b', type: 'hold' }, { id: 'c', type: 'hold' }, { id: 'd', type: 'hold' }] });
      await assert.rejects(() => wf.start(), (error: unknown) => isStewardError(error, 'STEWARD_QUEUE_FULL'));
      assert.equal(wf.getStatus().status, 'cancelled');
      assert.equal((await wf.result()).status, 'cancelled');
      const tasks = rt.list({ workflowId: wf.id });
      assert.ok(tasks.length > 0 && tasks.every((t) => t.status === 'cancelled'), JSON.stringify(tasks.map((t) => t.status)));
    }));

  it('a phase with a failed task stays failed when its workflow is cancelled', () =>
    withRuntime({ concurrency: 2 }, async (rt) => {
      rt.define('hold', { handler: (_i, ctx) => new Promise((resolve) => ctx.signal.addEventListener('abort', () => resolve(null))) });
      rt.define('boom', { retries: { attempts: 0 }, handler: () => Promise.reject(new Error('no')) });
      const wf = await rt.workflow({ name: 'mixed', phases: [{ id: 'one', tasks: [{ id: 'a', type: 'boom' }, { id: 'b', type: 'hold' }] }] });
      const failed = rt.list({ workflowId: wf.id }).find((t) => t.type === 'boom');
      assert.ok(failed !== undefined);
      await rt.task(failed.id)?.result();
      await wf.cancel('stop');
      assert.equal((await wf.result()).status, 'cancelled');
      assert.equal(wf.getStatus().phases[0]?.status, 'failed');
    }));

  it('refuses a bad workflow whole, leaving nothing behind', () =>
    withRuntime({}, async (rt) => {
      defineTypes(rt);
      const bad = [
        { name: 'x', phases: [{ id: 'a', dependsOn: ['b'], tasks: [{ id: 't', type: 'step' }] }, { id: 'b', tasks: [] }] },
        { name: 'x', phases: [{ id: 'a', tasks: [{ id: 't', type: 'step' }, { id: 't', type: 'step' }] }] },
        { name: 'x', phases: [{ id: 'a', tasks: [{ id: 't', type: 'nope' }] }] },
        { name: 'x', phases: [{ id: 'a', tasks: [] }] },
        { name: '', phases: [] },
      ];
      for (const spec of bad) await assert.rejects(rt.workflow(spec), (e: unknown) => isStewardError(e));
      assert.deepEqual(rt.listWorkflows(), []);
      assert.equal(rt.getWorkflow('missing'), undefined);
    }));

  it('comes back after a restart and finishes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'steward-wf-'));
    try {
      const first = await createRuntime({ dataDir: dir });
      first.define('hold', { handler: () => new Promise(() => undefined) });
      first.define('step', { handler: () => 'ok' });
      const wf = await first.workflow({
        name: 'durable',
        phases: [
          { id: 'one', tasks: [{ id: 'a', type: 'hold' }] },
          { id: 'two', dependsOn: ['one'], tasks: [{ id: 'b', type: 'step' }] },
        ],
      });
      await settle(5);
      await first.shutdown({ timeoutMs: 0 });
      const second = await createRuntime({ dataDir: dir });
      try {
        const again = second.getWorkflow(wf.id);
        assert.ok(again);
        assert.equal(again.getStatus().status, 'running');
        second.define('hold', { handler: () => 'released' });
        second.define('step', { handler: (_i, ctx) => ctx.dependencies.a });
        const outcome = await again.result();
        assert.equal(outcome.status, 'completed');
        assert.deepEqual(outcome.results, { a: 'released', b: 'released' });
      } finally {
        await second.shutdown();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
