import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { createRuntime, TaskFailure, type Clock } from '../src/index.js';
import { ManualClock, withRuntime } from '../src/testing.js';
import { deferred, settle } from './helpers.js';

const BUDGETS = new URL('./fixtures/budgets.js', import.meta.url);

/**
 * A manual clock that can tell when its next timer is due, so a test can move time
 * without jumping over one: what a timer lets happen then happens at its own time.
 */
class SteppingClock implements Clock {
  #now = 0;
  #id = 0;
  #timers = new Map<number, { at: number; fn: () => void }>();
  now(): number {
    return this.#now;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    this.#timers.set(++this.#id, { at: this.#now + Math.max(0, ms), fn });
    return this.#id;
  }
  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }
  /** Moves to `min(now + ms, next timer)` and fires the timers due then. */
  step(ms: number): void {
    let next = this.#now + ms;
    for (const timer of this.#timers.values()) next = Math.min(next, timer.at);
    this.#now = next;
    for (const [id, timer] of [...this.#timers]) {
      if (timer.at > next) continue;
      this.#timers.delete(id);
      timer.fn();
    }
  }
}

/** Units taken in the window of `windowMs` ending at each grant (a take at t counts in (t - windowMs, t]), the highest. */
function maxUnitsInWindow(grants: Array<{ at: number; cost: number }>, windowMs: number): number {
  let max = 0;
  for (const { at: end } of grants) {
    let sum = 0;
    for (const { at, cost } of grants) if (at > end - windowMs && at <= end) sum += cost;
    max = Math.max(max, sum);
  }
  return max;
}

describe('budgets: weighted rate buckets', () => {
  it('never takes more than 1,000 units in any one-second window from tasks costing 1-300 units (property, manual clock)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 12 }),
        fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 8 }),
        async (tasks, steps) => {
          const clock = new SteppingClock();
          await withRuntime({ clock, concurrency: 6, rateLimits: { llm: { limit: 1_000, intervalMs: 1_000 } } }, async (rt) => {
            const grants: Array<{ at: number; cost: number }> = [];
            rt.define('call', {
              handler: async (costs: number[], ctx) => {
                for (const cost of costs) {
                  await ctx.rateLimit('llm', { cost });
                  grants.push({ at: clock.now(), cost });
                }
              },
            });
            const handles = [];
            for (const costs of tasks) handles.push(await rt.submit('call', costs));
            const total = tasks.flat().reduce((a, b) => a + b, 0);
            for (let i = 0; grants.length < tasks.flat().length && i < 10_000; i++) {
              await settle();
              clock.step(steps[i % steps.length] as number);
            }
            const outcomes = await Promise.all(handles.map((h) => h.result()));
            assert.ok(outcomes.every((o) => o.status === 'completed'));
            assert.equal(grants.reduce((a, g) => a + g.cost, 0), total);
            assert.ok(maxUnitsInWindow(grants, 1_000) <= 1_000, `grants ${JSON.stringify(grants)}`);
            assert.equal(rt.metrics().rateLimits.llm?.used, total);
          });
        },
      ),
      { numRuns: 25 },
    );
  });

  it('reportUsage trues up: the difference is taken from or given back to the window', () => {
    const clock = new ManualClock(0);
    return withRuntime({ clock, rateLimits: { llm: { limit: 1_000, intervalMs: 1_000 } } }, async (rt) => {
      const gate = deferred();
      rt.define('call', {
        handler: async (_input: null, ctx) => {
          await ctx.rateLimit('llm', { cost: 800 });
          ctx.reportUsage('llm', 300); // 500 given back
          await gate.promise;
          await ctx.rateLimit('llm', { cost: 100 });
          ctx.reportUsage('llm', 400); // 300 more taken
        },
      });
      const handle = await rt.submit('call', null);
      await settle();
      assert.equal(rt.metrics().rateLimits.available.llm, 700);
      gate.resolve();
      await handle.result();
      assert.equal(rt.metrics().rateLimits.available.llm, 300);
      assert.deepEqual(rt.get(handle.id)?.usage, { llm: 700 });
      assert.equal(rt.metrics().rateLimits.llm?.used, 700);
    });
  });

  it('reports sum the usage per type, with a usage column', () =>
    withRuntime({ rateLimits: { llm: { limit: 10_000, intervalMs: 1_000 } } }, async (rt) => {
      rt.define('agent', { handler: (cost: number, ctx) => ctx.rateLimit('llm', { cost }) });
      rt.define('plain', { handler: () => 1 });
      for (const cost of [100, 250]) await (await rt.submit('agent', cost)).result();
      await (await rt.submit('plain', null)).result();
      const report = await rt.report({ sinceMs: 60_000 });
      assert.deepEqual(report.byType.find((s) => s.type === 'agent')?.usage, { llm: 350 });
      assert.equal(report.byType.find((s) => s.type === 'plain')?.usage, undefined);
      assert.match(report.toMarkdown(), /\| usage \|/);
      assert.match(report.toMarkdown(), /\| agent \|.*\| llm 350 \|/);
    }));

  it('a cost larger than the bucket can ever hold is refused', () =>
    withRuntime({ rateLimits: { llm: { limit: 10, intervalMs: 1_000 } } }, async (rt) => {
      rt.define('call', { handler: (_: null, ctx) => ctx.rateLimit('llm', { cost: 11 }) });
      const outcome = await rt.submit('call', null).then((h) => h.result());
      assert.equal(outcome.error?.code, 'STEWARD_INVALID_OPTIONS');
    }));

  it('a task with budget 500 fails with STEWARD_BUDGET_EXCEEDED at the call that would pass it, and is not retried', () =>
    withRuntime({ rateLimits: { llm: { limit: 10_000, intervalMs: 1_000 } } }, async (rt) => {
      const calls: number[] = [];
      // What the handler's call threw, once its catch has run (the outcome may be told first).
      const thrown = deferred<unknown>();
      rt.define('agent', {
        retries: { attempts: 3, delayMs: 0 },
        handler: async (_: null, ctx) => {
          for (const cost of [200, 200, 200]) {
            try {
              await ctx.rateLimit('llm', { cost });
            } catch (error) {
              thrown.resolve(error);
              throw error;
            }
            calls.push(cost);
          }
        },
      });
      const handle = await rt.submit('agent', null, { budget: { llm: 500 } });
      const outcome = await handle.result();
      assert.equal(outcome.status, 'failed');
      assert.equal(outcome.error?.code, 'STEWARD_BUDGET_EXCEEDED');
      assert.equal(outcome.error?.retryable, false);
      assert.equal(outcome.attempts, 1);
      assert.deepEqual(calls, [200, 200]);
      const caught = await thrown.promise;
      assert.ok(caught instanceof TaskFailure && caught.code === 'STEWARD_BUDGET_EXCEEDED');
      assert.deepEqual(rt.get(handle.id)?.usage, { llm: 400 });
    }));

  it('a usage report that passes the budget fails the attempt even if the handler goes on', () =>
    withRuntime({ rateLimits: { llm: { limit: 10_000, intervalMs: 1_000 } } }, async (rt) => {
      rt.define('agent', {
        handler: async (_: null, ctx) => {
          await ctx.rateLimit('llm', { cost: 100 });
          ctx.reportUsage('llm', 600);
          return 'went on';
        },
      });
      const outcome = await (await rt.submit('agent', null, { budget: { llm: 500 } })).result();
      assert.equal(outcome.status, 'failed');
      assert.equal(outcome.error?.code, 'STEWARD_BUDGET_EXCEEDED');
    }));

  it('budgets and usage work the same from a worker thread', () =>
    withRuntime({ rateLimits: { llm: { limit: 10_000, intervalMs: 1_000 } }, workers: { maxThreads: 1 } }, async (rt) => {
      rt.define('spend', { module: BUDGETS });
      const ok = await (await rt.submit('spend', { bucket: 'llm', costs: [100, 50], report: 120 }, { budget: { llm: 500 } })).result();
      assert.equal(ok.status, 'completed');
      assert.equal(ok.result, 2);
      const over = await rt.submit('spend', { bucket: 'llm', costs: [200, 200, 200] }, { budget: { llm: 500 } });
      const failed = await over.result();
      assert.equal(failed.error?.code, 'STEWARD_BUDGET_EXCEEDED');
      assert.deepEqual(rt.get(over.id)?.usage, { llm: 400 });
      const reported = await rt.submit('spend', { bucket: 'llm', costs: [100], report: 900 }, { budget: { llm: 500 } });
      assert.equal((await reported.result()).error?.code, 'STEWARD_BUDGET_EXCEEDED');
      assert.deepEqual(rt.get(reported.id)?.usage, { llm: 900 });
      assert.equal(rt.metrics().rateLimits.llm?.used, 120 + 400 + 900);
    }));

  it('rejects a budget on a bucket that does not exist', () =>
    withRuntime({ rateLimits: { llm: { limit: 10, intervalMs: 1_000 } } }, async (rt) => {
      rt.define('x', { handler: () => 1 });
      await assert.rejects(rt.submit('x', null, { budget: { other: 5 } }), { code: 'STEWARD_INVALID_OPTIONS' });
      await assert.rejects(rt.submit('x', null, { budget: { llm: -1 } }), { code: 'STEWARD_INVALID_OPTIONS' });
    }));

  it('keeps a budgeted task usage across a restart of a real LevelDB data directory in the middle of the task', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'steward-budget-'));
    try {
      const rateLimits = { llm: { limit: 10_000, intervalMs: 1_000 } };
      const first = await createRuntime({ dataDir, rateLimits });
      const reached = deferred();
      first.define('agent', {
        handler: async (_: null, ctx) => {
          await ctx.rateLimit('llm', { cost: 300 });
          reached.resolve();
          await new Promise(() => undefined); // still running when the host goes down
        },
      });
      const handle = await first.submit('agent', null, { budget: { llm: 500 } });
      await reached.promise;
      assert.deepEqual(first.get(handle.id)?.usage, { llm: 300 });
      await first.shutdown({ timeoutMs: 0 });

      const second = await createRuntime({ dataDir, rateLimits });
      try {
        // Before the type is defined again, the task waits with what it used.
        assert.deepEqual(second.get(handle.id)?.usage, { llm: 300 });
        const calls: number[] = [];
        second.define('agent', {
          handler: async (_: null, ctx) => {
            await ctx.rateLimit('llm', { cost: 150 });
            calls.push(150);
            await ctx.rateLimit('llm', { cost: 100 }); // 300 + 150 + 100 > 500
            calls.push(100);
          },
        });
        const outcome = await second.task(handle.id)!.result();
        assert.equal(outcome.error?.code, 'STEWARD_BUDGET_EXCEEDED');
        assert.deepEqual(calls, [150]);
        assert.deepEqual(second.get(handle.id)?.usage, { llm: 450 });
        assert.equal(second.metrics().rateLimits.llm?.used, 450);
      } finally {
        await second.shutdown({ timeoutMs: 0 });
      }
      const third = await createRuntime({ dataDir, rateLimits });
      assert.deepEqual(third.get(handle.id)?.usage, { llm: 450 });
      await third.shutdown({ timeoutMs: 0 });
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
