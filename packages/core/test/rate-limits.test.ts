import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isStewardError, TaskFailure } from '../src/index.js';
import { ManualClock, withRuntime } from '../src/testing.js';
import { settle, WORKERS } from './helpers.js';

/** Largest number of times inside any window [t, t + windowMs). */
function maxInWindow(times: number[], windowMs: number): number {
  let max = 0;
  for (const start of times) max = Math.max(max, times.filter((t) => t >= start && t < start + windowMs).length);
  return max;
}

describe('rate-limit buckets', () => {
  it('never starts more than limit tasks in any window of intervalMs, and starts them all in the end', () => {
    const clock = new ManualClock(0);
    return withRuntime({ clock, concurrency: 10, rateLimits: { api: { limit: 3, intervalMs: 1_000 } } }, async (rt) => {
      const starts: number[] = [];
      rt.define('call', { rateLimit: 'api', handler: () => starts.push(clock.now()) });
      const handles = [];
      for (let i = 0; i < 10; i++) handles.push(await rt.submit('call'));
      for (let step = 0; step < 40; step++) {
        await settle();
        clock.advance(100);
      }
      await Promise.all(handles.map((h) => h.result()));
      assert.equal(starts.length, 10);
      assert.equal(maxInWindow(starts, 1_000), 3, `starts at ${starts.join(', ')}`);
    });
  });

  it('holds what exceeds the bucket with a ratelimit:waiting event and a reason', () => {
    const clock = new ManualClock(0);
    return withRuntime({ clock, rateLimits: { api: { limit: 1, intervalMs: 60_000 } } }, async (rt) => {
      rt.define('call', { rateLimit: 'api', handler: () => 1 });
      const waits: Array<[string, number]> = [];
      rt.on('ratelimit:waiting', (e) => waits.push([e.bucket, e.until]));
      await rt.submit('call');
      const second = await rt.submit('call');
      await settle();
      assert.equal(second.getStatus().status, 'queued');
      assert.deepEqual(waits, [['api', 60_000]]);
      assert.equal(rt.queueStatus().items[0]?.reason, 'rate limit api');
      assert.equal(rt.metrics().rateLimits.available.api, 0);
      clock.advance(60_000);
      assert.equal((await second.result()).status, 'completed');
    });
  });

  it('gives handlers tokens with ctx.rateLimit, inline and in a worker thread', () => {
    const clock = new ManualClock(0);
    return withRuntime({ clock, concurrency: 2, rateLimits: { api: { limit: 2, intervalMs: 1_000 } }, workers: { minThreads: 1, maxThreads: 1 } }, async (rt) => {
      const takes: number[] = [];
      rt.define('inline', { handler: async (_i, ctx) => { for (let i = 0; i < 2; i++) { await ctx.rateLimit('api'); takes.push(clock.now()); } } });
      rt.define('worker', { module: WORKERS, export: 'takeTokens' });
      assert.equal((await (await rt.submit('inline')).result()).status, 'completed');
      assert.deepEqual(takes, [0, 0], 'two tokens at once from a bucket of two');
      const waiting = new Promise<void>((resolve) => rt.on('ratelimit:waiting', () => resolve()));
      const b = await rt.submit('worker', { bucket: 'api', takes: 2 });
      await waiting; // the worker thread asked for a token and has to wait for the window
      assert.equal(b.getStatus().status, 'running');
      clock.advance(1_000);
      assert.equal((await b.result()).result, 2);
      const lines: string[] = [];
      for await (const chunk of rt.output(b.id)) lines.push(chunk.data);
      assert.deepEqual(lines, ['token 0', 'token 1']);
      assert.ok(rt.metrics().rateLimits.waits >= 1, 'four takes from a bucket of two had to wait');
    });
  });

  it('pauses the bucket when a handler reports retryAfterMs, and retries after it', () => {
    const clock = new ManualClock(0);
    return withRuntime({ clock, concurrency: 4, rateLimits: { api: { limit: 100, intervalMs: 1_000 } } }, async (rt) => {
      let calls = 0;
      const starts: number[] = [];
      rt.define('call', {
        rateLimit: 'api',
        retries: { attempts: 1, delayMs: 10, jitter: false },
        handler: () => {
          starts.push(clock.now());
          if (++calls === 1) throw new TaskFailure('429 Too Many Requests', { retryAfterMs: 5_000 });
          return 'ok';
        },
      });
      const first = await rt.submit('call');
      await settle();
      const other = await rt.submit('call');
      await settle();
      assert.equal(other.getStatus().status, 'queued', 'the bucket is paused for everyone');
      clock.advance(5_001);
      await Promise.all([first.result(), other.result()]);
      assert.ok(starts.slice(1).every((t) => t >= 5_000), `starts at ${starts.join(', ')}`);
    });
  });

  it('refuses an unknown bucket at submit, at define and in ctx.rateLimit', () =>
    withRuntime({ rateLimits: { api: { limit: 1, intervalMs: 1_000 } } }, async (rt) => {
      rt.define('t', { handler: () => 1 });
      await assert.rejects(rt.submit('t', null, { rateLimit: 'nope' }), (e: unknown) => isStewardError(e, 'STEWARD_INVALID_OPTIONS'));
      assert.throws(() => rt.define('u', { rateLimit: 'nope', handler: () => 1 }), (e: unknown) => isStewardError(e, 'STEWARD_INVALID_OPTIONS'));
      rt.define('v', { handler: async (_i, ctx) => ctx.rateLimit('nope') });
      assert.equal((await (await rt.submit('v')).result()).error?.code, 'STEWARD_INVALID_OPTIONS');
    }));
});

describe('the resource guard', () => {
  it('throttles below the protected priority and lowers concurrency step by step, then recovers step by step', () => {
    const clock = new ManualClock(0);
    let reading = { cpuPercent: 20, memoryMb: 100 };
    return withRuntime(
      // mode 'pause': nothing below protect runs while throttled (the default keeps a floor; see resource-guard-floor.test.ts).
      { clock, concurrency: 4, resourceGuard: { maxCpuPercent: 80, protect: 'high', intervalMs: 1_000, mode: 'pause', sampler: () => reading } },
      async (rt) => {
        const events: string[] = [];
        rt.events({ policy: 'block' }).subscribe((e) => {
          if (e.type === 'resource:throttled' || e.type === 'resource:recovered') events.push(`${e.type} ${e.concurrency}`);
        });
        const release: Array<() => void> = [];
        const started: string[] = [];
        rt.define('work', { handler: (input: string) => new Promise<void>((resolve) => { started.push(input); release.push(resolve); }) });
        reading = { cpuPercent: 95, memoryMb: 100 };
        clock.advance(1_000);
        await settle();
        assert.deepEqual(events, ['resource:throttled 3']);
        assert.equal(rt.queueStatus().throttled, true);
        assert.equal(rt.queueStatus().effectiveConcurrency, 3);
        await rt.submit('work', 'low', { priority: 'low' });
        await rt.submit('work', 'high', { priority: 'high' });
        await settle();
        assert.deepEqual(started, ['high'], 'only protected work is admitted');
        assert.equal(rt.queueStatus().items.find((i) => i.priority === 2)?.reason, 'resources');
        clock.advance(1_000);
        clock.advance(1_000);
        assert.equal(rt.metrics().resources.guard?.effectiveConcurrency, 1, 'down a step per sample, not below 1');
        reading = { cpuPercent: 60, memoryMb: 100 };
        clock.advance(1_000);
        assert.equal(rt.queueStatus().effectiveConcurrency, 2, 'up a step per sample');
        assert.equal(rt.queueStatus().throttled, true);
        clock.advance(1_000);
        clock.advance(1_000);
        await settle();
        assert.deepEqual(events, ['resource:throttled 3', 'resource:recovered 4']);
        assert.deepEqual(started, ['high', 'low']);
        for (const done of release) done();
      },
    );
  });

  it('holds its state inside the hysteresis band', () => {
    const clock = new ManualClock(0);
    let reading = { cpuPercent: 95, memoryMb: 100 };
    return withRuntime({ clock, concurrency: 4, resourceGuard: { maxCpuPercent: 80, intervalMs: 1_000, hysteresisPercent: 10, sampler: () => reading } }, async (rt) => {
      clock.advance(1_000);
      assert.equal(rt.queueStatus().effectiveConcurrency, 3);
      reading = { cpuPercent: 75, memoryMb: 100 }; // below 80 but not below 72
      clock.advance(3_000);
      assert.equal(rt.queueStatus().effectiveConcurrency, 3);
      assert.equal(rt.queueStatus().throttled, true);
    });
  });
});
