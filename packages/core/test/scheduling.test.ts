import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Runtime } from '../src/index.js';
import { ManualClock, withRuntime } from '../src/testing.js';
import { settle } from './helpers.js';

/** A task type whose tasks each wait until the test releases them, recording start order. */
function gated(rt: Runtime, type = 'job', concurrency?: number) {
  const started: string[] = [];
  const waiting: Array<() => void> = [];
  rt.define(type, {
    ...(concurrency === undefined ? {} : { concurrency }),
    handler: (input: { name: string }) =>
      new Promise<string>((resolve) => {
        started.push(input.name);
        waiting.push(() => resolve(input.name));
      }),
  });
  const releaseOne = async () => {
    waiting.shift()?.();
    await settle();
  };
  return { started, releaseOne, running: () => waiting.length };
}

describe('scheduling', () => {
  it('starts tasks in priority order, FIFO within a level, with concurrency 1', () =>
    withRuntime({ concurrency: 1, clock: new ManualClock() }, async (rt) => {
      const { started, releaseOne } = gated(rt);
      await rt.submit('job', { name: 'blocker' });
      await settle();
      const order: Array<[string, string | number]> = [
        ['low-1', 'low'],
        ['high-1', 'high'],
        ['background-1', 'background'],
        ['critical-1', 'critical'],
        ['high-2', 'high'],
        ['medium-1', 'medium'],
        ['low-2', 'low'],
        ['between', 4.5],
        ['high-3', 'high'],
      ];
      for (const [name, priority] of order) await rt.submit('job', { name }, { priority });
      for (let i = 0; i < order.length + 1; i++) await releaseOne();
      assert.deepEqual(started, [
        'blocker',
        'critical-1',
        'between',
        'high-1',
        'high-2',
        'high-3',
        'medium-1',
        'low-1',
        'low-2',
        'background-1',
      ]);
    }));

  it('starts a background task under a continuous flood of high-priority tasks (aging)', () => {
    const clock = new ManualClock();
    return withRuntime({ concurrency: 1, agingMs: 1_000, clock }, async (rt) => {
      const { started, releaseOne } = gated(rt);
      await rt.submit('job', { name: 'blocker' });
      await rt.submit('job', { name: 'background' }, { priority: 'background' });
      await settle();
      let step = 0;
      // Each step two high tasks arrive and one task finishes: the flood never dries up.
      for (; step < 400 && !started.includes('background'); step++) {
        await rt.submit('job', { name: `high-${step}-a` }, { priority: 'high' });
        await rt.submit('job', { name: `high-${step}-b` }, { priority: 'high' });
        clock.advance(100);
        await releaseOne();
      }
      assert.ok(started.includes('background'), 'the background task started');
      const before = started.indexOf('background') - 1;
      assert.ok(before >= 20, `high tasks ran first while the background one aged (${before})`);
      assert.ok(rt.queueStatus().queued > 0, 'high tasks were still waiting when it started');
    });
  });

  it('lets a background task starve under the same flood when aging is off (the control)', () => {
    const clock = new ManualClock();
    return withRuntime({ concurrency: 1, agingMs: 0, clock }, async (rt) => {
      const { started, releaseOne } = gated(rt);
      await rt.submit('job', { name: 'blocker' });
      await rt.submit('job', { name: 'background' }, { priority: 'background' });
      for (let step = 0; step < 150; step++) {
        await rt.submit('job', { name: `high-${step}-a` }, { priority: 'high' });
        await rt.submit('job', { name: `high-${step}-b` }, { priority: 'high' });
        clock.advance(100);
        await releaseOne();
      }
      assert.equal(started.includes('background'), false);
    });
  });

  it('never runs more than the global concurrency at once', () =>
    withRuntime({ concurrency: 3 }, async (rt) => {
      const { releaseOne, running } = gated(rt);
      for (let i = 0; i < 10; i++) await rt.submit('job', { name: `t${i}` });
      await settle();
      assert.equal(running(), 3);
      assert.equal(rt.queueStatus().running, 3);
      await releaseOne();
      assert.equal(running(), 3);
    }));

  it('holds a type at its own concurrency without blocking other types behind it', () =>
    withRuntime({ concurrency: 3 }, async (rt) => {
      const a = gated(rt, 'a', 1);
      const b = gated(rt, 'b');
      await rt.submit('a', { name: 'a1' }, { priority: 'critical' });
      await rt.submit('a', { name: 'a2' }, { priority: 'critical' });
      await rt.submit('a', { name: 'a3' }, { priority: 'critical' });
      await rt.submit('b', { name: 'b1' }, { priority: 'background' });
      await rt.submit('b', { name: 'b2' }, { priority: 'background' });
      await settle();
      assert.deepEqual(a.started, ['a1']);
      assert.deepEqual(b.started, ['b1', 'b2']);
      const waiting = rt.queueStatus().items;
      assert.deepEqual(waiting.map((i) => i.reason), ['type concurrency', 'type concurrency']);
      await a.releaseOne();
      assert.deepEqual(a.started, ['a1', 'a2']);
    }));

  it('keeps tasks of a type defined later queued until it is defined', () =>
    withRuntime({}, async (rt) => {
      rt.define('first', { handler: () => 'ok' });
      const handle = await rt.submit('first');
      await handle.result();
      // Redefinition takes effect for later tasks.
      rt.define('first', { handler: () => 'new' });
      assert.equal(await rt.run('first'), 'new');
    }));
});
