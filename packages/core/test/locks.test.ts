import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Runtime } from '../src/index.js';
import { isStewardError } from '../src/index.js';
import { ManualClock, withRuntime } from '../src/testing.js';
import { settle } from './helpers.js';

/** A type whose tasks hold until released by name, recording who runs when. */
function holders(rt: Runtime) {
  const running = new Set<string>();
  const log: string[] = [];
  const release = new Map<string, () => void>();
  rt.define('hold', {
    handler: (input: { name: string }) =>
      new Promise<string>((resolve) => {
        running.add(input.name);
        log.push(`start ${input.name}`);
        release.set(input.name, () => {
          running.delete(input.name);
          log.push(`end ${input.name}`);
          resolve(input.name);
        });
      }),
  });
  const finish = async (name: string) => {
    release.get(name)?.();
    await settle();
  };
  return { running, log, finish };
}

describe('named locks', () => {
  it('lets one exclusive holder run at a time and the others wait their turn', () =>
    withRuntime({ concurrency: 4 }, async (rt) => {
      const { running, finish } = holders(rt);
      for (const name of ['a', 'b', 'c']) await rt.submit('hold', { name }, { locks: ['repo:/src'] });
      await settle();
      assert.deepEqual([...running], ['a']);
      assert.equal(rt.queueStatus().items.filter((i) => i.reason === 'lock repo:/src').length, 2);
      await finish('a');
      assert.deepEqual([...running], ['b']);
      await finish('b');
      assert.deepEqual([...running], ['c']);
    }));

  it('lets shared holders run together, and an exclusive one after them', () =>
    withRuntime({ concurrency: 4 }, async (rt) => {
      const { running, finish } = holders(rt);
      await rt.submit('hold', { name: 'r1' }, { locks: [{ name: 'db', mode: 'shared' }] });
      await rt.submit('hold', { name: 'r2' }, { locks: [{ name: 'db', mode: 'shared' }] });
      await rt.submit('hold', { name: 'w' }, { locks: ['db'] });
      await settle();
      assert.deepEqual([...running].sort(), ['r1', 'r2']);
      await finish('r1');
      assert.equal(running.has('w'), false);
      await finish('r2');
      assert.deepEqual([...running], ['w']);
    }));

  it('does not let a stream of shared holders starve a waiting exclusive one', () =>
    withRuntime({ concurrency: 8 }, async (rt) => {
      const { running, finish } = holders(rt);
      await rt.submit('hold', { name: 'r0' }, { locks: [{ name: 'db', mode: 'shared' }] });
      await settle();
      await rt.submit('hold', { name: 'w' }, { locks: ['db'] });
      for (let i = 1; i <= 3; i++) await rt.submit('hold', { name: `r${i}` }, { locks: [{ name: 'db', mode: 'shared' }] });
      await settle();
      assert.deepEqual([...running], ['r0'], 'later readers queue behind the waiting writer');
      await finish('r0');
      assert.deepEqual([...running], ['w']);
      await finish('w');
      assert.deepEqual([...running].sort(), ['r1', 'r2', 'r3']);
    }));

  it('takes all of a task’s locks at once or none, so two tasks with crossed locks cannot deadlock', () =>
    withRuntime({ concurrency: 4 }, async (rt) => {
      const { running, log, finish } = holders(rt);
      await rt.submit('hold', { name: 'first' }, { locks: ['a', 'b'] });
      await rt.submit('hold', { name: 'second' }, { locks: ['b', 'a'] });
      await rt.submit('hold', { name: 'only-a' }, { locks: ['a'] });
      await settle();
      assert.deepEqual([...running], ['first']);
      await finish('first');
      await finish('second');
      await finish('only-a');
      assert.deepEqual(log, ['start first', 'end first', 'start second', 'end second', 'start only-a', 'end only-a']);
    }));

  it('serves lock waiters by priority', () =>
    withRuntime({ concurrency: 4 }, async (rt) => {
      const { running, finish } = holders(rt);
      await rt.submit('hold', { name: 'holder' }, { locks: ['x'] });
      await settle();
      await rt.submit('hold', { name: 'low' }, { locks: ['x'], priority: 'low' });
      await rt.submit('hold', { name: 'critical' }, { locks: ['x'], priority: 'critical' });
      await settle();
      await finish('holder');
      assert.deepEqual([...running], ['critical']);
    }));

  it('does not block tasks behind a waiting one that need other locks or none', () =>
    withRuntime({ concurrency: 4 }, async (rt) => {
      const { running } = holders(rt);
      await rt.submit('hold', { name: 'holder' }, { locks: ['x'] });
      await settle();
      await rt.submit('hold', { name: 'waiter' }, { locks: ['x'], priority: 'critical' });
      await rt.submit('hold', { name: 'other' }, { locks: ['y'], priority: 'low' });
      await rt.submit('hold', { name: 'free' }, { priority: 'background' });
      await settle();
      assert.deepEqual([...running].sort(), ['free', 'holder', 'other']);
    }));

  it('fails a task that waited past lockTimeoutMs with STEWARD_LOCK_TIMEOUT', () => {
    const clock = new ManualClock();
    return withRuntime({ clock, concurrency: 2 }, async (rt) => {
      holders(rt);
      await rt.submit('hold', { name: 'holder' }, { locks: ['x'] });
      const waiter = await rt.submit('hold', { name: 'waiter' }, { locks: ['x'], lockTimeoutMs: 1_000 });
      await settle();
      clock.advance(1_010);
      const outcome = await waiter.result();
      assert.equal(outcome.status, 'failed');
      assert.equal(outcome.error?.code, 'STEWARD_LOCK_TIMEOUT');
      assert.equal(outcome.attempts, 0);
    });
  });

  it('reports contention in events and metrics', () =>
    withRuntime({ concurrency: 2 }, async (rt) => {
      const { finish } = holders(rt);
      const events: string[] = [];
      rt.events({ policy: 'block' }).subscribe((e) => {
        if (e.type === 'lock:waiting') events.push(`waiting ${e.lock}`);
        if (e.type === 'lock:acquired') events.push(`acquired ${e.locks.join(',')}`);
      });
      await rt.submit('hold', { name: 'a' }, { locks: ['x'] });
      await rt.submit('hold', { name: 'b' }, { locks: ['x'] });
      await settle();
      assert.deepEqual(rt.metrics().locks, { waits: 1, waitMs: 0, held: 1, waiting: 1 });
      await finish('a');
      assert.deepEqual(events, ['acquired x', 'waiting x', 'acquired x']);
      assert.equal(rt.metrics().locks.waiting, 0);
    }));

  it('validates lock options', () =>
    withRuntime({}, async (rt) => {
      rt.define('t', { handler: () => 1 });
      await assert.rejects(rt.submit('t', null, { locks: [{ name: 'x', mode: 'sometimes' as never }] }), (e: unknown) => isStewardError(e, 'STEWARD_INVALID_OPTIONS') && /options\.locks\.0/.test(e.message));
      await assert.rejects(rt.submit('t', null, { locks: [''] }), (e: unknown) => isStewardError(e, 'STEWARD_INVALID_OPTIONS'));
    }));
});
