import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Runtime, RuntimeEvent } from '../src/index.js';
import { ManualClock, withRuntime } from '../src/testing.js';
import { settle } from './helpers.js';

const HOT = { cpuPercent: 95, memoryMb: 100 };
const COOL = { cpuPercent: 10, memoryMb: 100 };

/** Tasks of type 'work' that wait until released; `started` names them in start order. */
function holdable(rt: Runtime) {
  const started: string[] = [];
  const release = new Map<string, () => void>();
  rt.define('work', {
    handler: (name: string) =>
      new Promise<void>((resolve) => {
        started.push(name);
        release.set(name, resolve);
      }),
  });
  const finish = async (name: string) => {
    release.get(name)?.();
    await settle();
  };
  return { started, finish, releaseAll: () => release.forEach((r) => r()) };
}

function guardEvents(rt: Runtime): Array<Extract<RuntimeEvent, { type: 'resource:throttled' | 'resource:recovered' }>> {
  const events: Array<Extract<RuntimeEvent, { type: 'resource:throttled' | 'resource:recovered' }>> = [];
  rt.events({ policy: 'block' }).subscribe((e) => {
    if (e.type === 'resource:throttled' || e.type === 'resource:recovered') events.push(e);
  });
  return events;
}

describe('resource guard: a floor for background work', () => {
  it('under pressure keeps one slot (the default share) moving for tasks below protect', () => {
    const clock = new ManualClock(0);
    let reading = HOT;
    return withRuntime({ clock, concurrency: 4, agingMs: 0, resourceGuard: { maxCpuPercent: 80, intervalMs: 1_000, sampler: () => reading } }, async (rt) => {
      const { started, finish, releaseAll } = holdable(rt);
      const events = guardEvents(rt);
      clock.advance(1_000);
      assert.equal(events[0]?.type, 'resource:throttled');
      assert.equal(events[0]?.mode, 'throttle');
      assert.equal(events[0]?.floor, 1);
      for (const name of ['low-1', 'low-2', 'low-3']) await rt.submit('work', name, { priority: 'low' });
      await rt.submit('work', 'high-1', { priority: 'high' });
      await settle();
      assert.deepEqual([...started].sort(), ['high-1', 'low-1']);
      assert.deepEqual(
        rt.queueStatus().items.map((i) => i.reason),
        ['resources', 'resources'],
      );
      assert.deepEqual(rt.metrics().resources.guard, { throttled: true, mode: 'throttle', effectiveConcurrency: 3, floor: 1, belowProtectRunning: 1, held: 2, cpuPercent: 95, memoryMb: 100 });
      // The floor keeps moving: when the background task ends, the next one starts.
      await finish('low-1');
      assert.deepEqual(started.slice(-1), ['low-2']);
      reading = COOL;
      for (let i = 0; i < 3; i++) clock.advance(1_000);
      await settle();
      assert.equal(events.at(-1)?.type, 'resource:recovered');
      assert.ok(started.includes('low-3'));
      releaseAll();
    });
  });

  it("mode 'pause' holds everything below protect until readings fall", () => {
    const clock = new ManualClock(0);
    let reading = HOT;
    return withRuntime({ clock, concurrency: 4, resourceGuard: { maxCpuPercent: 80, intervalMs: 1_000, mode: 'pause', sampler: () => reading } }, async (rt) => {
      const { started, releaseAll } = holdable(rt);
      const events = guardEvents(rt);
      clock.advance(1_000);
      assert.equal(events[0]?.floor, 0);
      await rt.submit('work', 'low-1', { priority: 'low' });
      await settle();
      for (let i = 0; i < 10; i++) clock.advance(1_000);
      await settle();
      assert.deepEqual(started, []);
      reading = COOL;
      for (let i = 0; i < 3; i++) clock.advance(1_000);
      await settle();
      assert.deepEqual(started, ['low-1']);
      releaseAll();
    });
  });

  it('floorShare sets the share of the effective concurrency kept for background work', () => {
    const clock = new ManualClock(0);
    return withRuntime({ clock, concurrency: 8, agingMs: 0, resourceGuard: { maxCpuPercent: 80, intervalMs: 1_000, floorShare: 0.5, sampler: () => HOT } }, async (rt) => {
      const { started, releaseAll } = holdable(rt);
      clock.advance(1_000); // effective 6, floor 3
      for (let i = 0; i < 6; i++) await rt.submit('work', `bg-${i}`, { priority: 'background' });
      await settle();
      assert.equal(started.length, 3);
      assert.equal(rt.metrics().resources.guard?.floor, 3);
      releaseAll();
    });
  });

  it('aging raises a long-held task over the floor', () => {
    const clock = new ManualClock(0);
    let reading = HOT;
    return withRuntime({ clock, concurrency: 4, agingMs: 1_000, resourceGuard: { maxCpuPercent: 80, intervalMs: 500, protect: 'high', sampler: () => reading } }, async (rt) => {
      const { started, releaseAll } = holdable(rt);
      clock.advance(500);
      reading = { cpuPercent: 75, memoryMb: 100 }; // inside the hysteresis band: it stays throttled at 3
      assert.equal(rt.metrics().resources.guard?.effectiveConcurrency, 3);
      await rt.submit('work', 'low-1', { priority: 'low' });
      await rt.submit('work', 'low-2', { priority: 'low' });
      await settle();
      assert.deepEqual(started, ['low-1'], 'the floor (one slot) is taken');
      clock.advance(1_500);
      await settle();
      assert.deepEqual(started, ['low-1'], 'waited 1.5 levels: still below high');
      clock.advance(1_000);
      await settle();
      assert.deepEqual(started, ['low-1', 'low-2'], 'waited two levels: as high as protect, over the floor');
      releaseAll();
    });
  });
});
