import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RuntimeEvent } from '../src/index.js';
import { ManualClock, withRuntime } from '../src/testing.js';
import { deferred, settle } from './helpers.js';

describe('per-task figures', () => {
  it('shows how long a running task has run, on the runtime clock, and its run time once it has ended', () => {
    const clock = new ManualClock();
    return withRuntime({ clock }, async (rt) => {
      const gate = deferred();
      rt.define('wait', { handler: () => gate.promise });
      const handle = await rt.submit('wait');
      await settle();
      assert.equal(handle.getStatus().status, 'running');
      assert.equal(handle.getStatus().elapsedMs, 0);
      clock.advance(250);
      assert.equal(handle.getStatus().elapsedMs, 250);
      assert.equal(rt.get(handle.id)?.elapsedMs, 250);
      assert.equal(rt.list({ status: 'running' })[0]?.elapsedMs, 250);
      clock.advance(50);
      gate.resolve();
      await handle.result();
      const ended = handle.getStatus();
      assert.equal(ended.elapsedMs, undefined);
      assert.equal(ended.durationMs, 300);
    });
  });

  it('leaves elapsedMs out of a task that has not started', () => {
    const clock = new ManualClock();
    return withRuntime({ clock, concurrency: 1 }, async (rt) => {
      const gate = deferred();
      rt.define('wait', { handler: () => gate.promise });
      await rt.submit('wait');
      const queued = await rt.submit('wait');
      await settle();
      clock.advance(100);
      assert.equal(queued.getStatus().status, 'queued');
      assert.equal(queued.getStatus().elapsedMs, undefined);
      gate.resolve();
    });
  });

  it('gives the run time in the outcome, and none for a task cancelled before it started', () => {
    const clock = new ManualClock();
    return withRuntime({ clock, concurrency: 1 }, async (rt) => {
      const gate = deferred();
      rt.define('wait', { handler: () => gate.promise.then(() => 'done') });
      const ran = await rt.submit('wait');
      const never = await rt.submit('wait');
      await settle();
      clock.advance(420);
      await never.cancel('not needed');
      gate.resolve();
      const outcome = await ran.result();
      assert.equal(outcome.durationMs, 420);
      assert.equal(outcome.endedAt - (outcome.startedAt as number), 420);
      const cancelled = await never.result();
      assert.equal(cancelled.status, 'cancelled');
      assert.equal(cancelled.durationMs, undefined);
      // The same outcome as executeMultiple hands it back.
      const { results } = await rt.executeMultiple([{ type: 'wait' }]);
      assert.equal(results[0]?.durationMs, 0);
    });
  });

  it('reports the average run time beside p50 and p95, in metrics() and per type in reports', () => {
    const clock = new ManualClock(Date.UTC(2026, 10, 22, 12));
    return withRuntime({ clock, concurrency: 1 }, async (rt) => {
      rt.define('timed', { handler: async (input) => { clock.advance(input as number); return input; } });
      for (const ms of [100, 200, 600]) await rt.run('timed', ms);
      const durations = rt.metrics().durations;
      assert.equal(durations.avgMs, 300);
      assert.equal(durations.p50Ms, 200);
      assert.equal(durations.samples, 3);
      const report = await rt.report({ sinceMs: 3_600_000 });
      const row = report.byType.find((t) => t.type === 'timed');
      assert.equal(row?.avgMs, 300);
      assert.equal(row?.p50Ms, 200);
      assert.match(report.toMarkdown(), /\| type \| ended \| success \| p50 \| p95 \| avg \| retries \| timeouts \| crashes \|\n/);
      assert.match(report.toMarkdown(), /\| timed \| 3 \| 100% \| 200 ms \| 600 ms \| 300 ms \| 0 \| 0 \| 0 \|\n/);
    });
  });

  it('reports an average of zero before any task has ended', () =>
    withRuntime({}, async (rt) => {
      assert.deepEqual(rt.metrics().durations, { avgMs: 0, p50Ms: 0, p95Ms: 0, samples: 0 });
    }));
});

describe('aggregation events', () => {
  it('announces an executeMultiple batch with its task ids, and its report when it ends', () => {
    const clock = new ManualClock();
    return withRuntime({ clock }, async (rt) => {
      rt.define('echo', { handler: (input) => input });
      const seen: RuntimeEvent[] = [];
      const subscription = rt.events$.subscribe((event) => {
        if (event.type.startsWith('aggregation:') || event.type === 'task:submitted' || event.type === 'task:completed') seen.push(event);
      });
      const started: unknown[] = [];
      const off = rt.on('aggregation:started', (event) => started.push(event));
      const { results, report } = await rt.executeMultiple([{ type: 'echo', input: 1 }, { type: 'echo', input: 1 }]);
      subscription.unsubscribe();
      off();
      const first = seen.find((e) => e.type === 'aggregation:started');
      const last = seen.find((e) => e.type === 'aggregation:completed');
      assert.ok(first?.type === 'aggregation:started' && last?.type === 'aggregation:completed');
      assert.equal(typeof first.aggregationId, 'string');
      assert.equal(last.aggregationId, first.aggregationId);
      assert.deepEqual(first.taskIds, results.map((r) => r.taskId));
      assert.equal(first.at, clock.now());
      assert.deepEqual(last.report, report);
      assert.equal(last.at, clock.now());
      assert.equal(started.length, 1);
      // Started after the batch's submissions, completed after its last task ended.
      const index = (type: string) => seen.findIndex((e) => e.type === type);
      assert.ok(index('aggregation:started') > seen.map((e) => e.type).lastIndexOf('task:submitted'));
      assert.equal(seen.at(-1)?.type, 'aggregation:completed');
    });
  });

  it('gives each batch its own aggregation id, and announces nothing for a batch it refuses', () =>
    withRuntime({}, async (rt) => {
      rt.define('echo', { handler: (input) => input });
      const ids: string[] = [];
      const off = rt.on('aggregation:started', (event) => ids.push(event.aggregationId));
      await rt.executeMultiple([{ type: 'echo', input: 1 }]);
      await rt.executeMultiple([{ type: 'echo', input: 2 }]);
      await assert.rejects(rt.executeMultiple([{ type: 'echo' }, { type: 'missing' }]));
      off();
      assert.equal(ids.length, 2);
      assert.notEqual(ids[0], ids[1]);
    }));
});
