import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../src/time/manual-clock.js';
import { TimerWheel } from '../src/time/timer-wheel.js';

describe('TimerWheel', () => {
  it('fires each deadline once, in order, no earlier than asked and at most one slot late', () => {
    const clock = new ManualClock(0);
    const wheel = new TimerWheel(clock, 10);
    const fired: Array<[string, number]> = [];
    wheel.setTimeout(() => fired.push(['b', clock.now()]), 250);
    wheel.setTimeout(() => fired.push(['a', clock.now()]), 95);
    wheel.setTimeout(() => fired.push(['c', clock.now()]), 1_000);
    clock.advance(94);
    assert.equal(fired.length, 0);
    clock.advance(2_000);
    assert.deepEqual(fired.map(([n]) => n), ['a', 'b', 'c']);
    for (const [, at] of fired) assert.ok(at >= 95 && at <= 1_010);
    assert.equal(wheel.size, 0);
  });

  it('keeps one underlying timer however many deadlines are pending', () => {
    const clock = new ManualClock(0);
    const wheel = new TimerWheel(clock, 10);
    for (let i = 0; i < 1_000; i++) wheel.setTimeout(() => undefined, 100 + i);
    assert.equal(clock.pending, 1);
    assert.equal(wheel.size, 1_000);
  });

  it('does not fire a cleared deadline and disarms when nothing is left', () => {
    const clock = new ManualClock(0);
    const wheel = new TimerWheel(clock, 10);
    let fired = 0;
    const handle = wheel.setTimeout(() => fired++, 100);
    wheel.setTimeout(() => fired++, 300);
    wheel.clearTimeout(handle);
    clock.advance(200);
    assert.equal(fired, 0);
    clock.advance(200);
    assert.equal(fired, 1);
    wheel.clearTimeout(handle);
    assert.equal(clock.pending, 0);
  });

  it('honours a deadline set from inside a firing one', () => {
    const clock = new ManualClock(0);
    const wheel = new TimerWheel(clock, 10);
    const fired: number[] = [];
    wheel.setTimeout(() => {
      fired.push(clock.now());
      wheel.setTimeout(() => fired.push(clock.now()), 50);
    }, 20);
    clock.advance(500);
    assert.equal(fired.length, 2);
    assert.ok((fired[1] as number) - (fired[0] as number) >= 50);
  });
});

describe('TimerWheel with far deadlines', () => {
  it('never arms its timer past what Node timers accept, and still fires far deadlines', () => {
    const clock = new ManualClock(0);
    const delays: number[] = [];
    const spy = {
      now: () => clock.now(),
      setTimeout: (fn: () => void, ms: number) => {
        delays.push(ms);
        return clock.setTimeout(fn, ms);
      },
      clearTimeout: (h: unknown) => clock.clearTimeout(h),
    };
    const wheel = new TimerWheel(spy, 10);
    let fired = 0;
    wheel.setTimeout(() => fired++, 3 * 2_147_483_647);
    clock.advance(3 * 2_147_483_647 + 20);
    assert.equal(fired, 1);
    assert.ok(delays.every((d) => d <= 2_147_483_647));
  });
});
