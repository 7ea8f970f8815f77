import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { Runtime } from '../src/index.js';
import { rankOf, ReadyQueue, type ReadyItem } from '../src/scheduling/ready-queue.js';
import { ManualClock, withRuntime } from '../src/testing.js';
import { settle } from './helpers.js';

interface KeyedItem extends ReadyItem {
  readonly priority: number;
  readonly concurrencyKey: string | undefined;
}

function item(id: string, key: string | undefined, priority: number, enqueuedAt: number, order: number, type = 't'): KeyedItem {
  return { id, type, order, ticket: 0, priority, concurrencyKey: key, rank: rankOf(priority, enqueuedAt, 1_000) };
}

/** A task type whose tasks wait until the test releases them, recording start order by name. */
function gated(rt: Runtime, type: string, options: { keyConcurrency?: number } = {}) {
  const started: string[] = [];
  const release: Array<() => void> = [];
  rt.define(type, {
    ...options,
    handler: (input: { name: string }) =>
      new Promise<string>((resolve) => {
        started.push(input.name);
        release.push(() => resolve(input.name));
      }),
  });
  return { started, release };
}

describe('concurrency keys: fair share', () => {
  it('ReadyQueue: a key with one task is served within one turn per active key, whatever the backlog of the others (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 0, max: 5 }),
        fc.boolean(),
        (backlogs, priority, aging) => {
          const queue = new ReadyQueue<KeyedItem>();
          let order = 0;
          // Every backlogged key (the first one is the implicit key) queues first, at one time or spread out.
          backlogs.forEach((n, k) => {
            for (let i = 0; i < n; i++) queue.add(item(`k${k}-${i}`, k === 0 ? undefined : `key-${k}`, priority, aging ? order : 0, ++order));
          });
          queue.add(item('single', 'late', priority, aging ? order + 10 : 0, ++order));
          const active = backlogs.length + 1;
          for (let start = 1; start <= active; start++) {
            if (queue.take(() => true)?.id === 'single') return true;
          }
          return false;
        },
      ),
      { numRuns: 200 },
    );
  });

  it('ReadyQueue: a higher priority still comes first, and a long-waiting task is raised by aging', () => {
    const queue = new ReadyQueue<KeyedItem>();
    queue.add(item('a-low', 'a', 2, 0, 1));
    queue.add(item('b-high', 'b', 4, 500, 2));
    queue.add(item('c-high', 'c', 4, 500, 3));
    // a-low waited 500 ms longer: not a level yet.
    assert.deepEqual([queue.take(() => true)?.id, queue.take(() => true)?.id, queue.take(() => true)?.id], ['b-high', 'c-high', 'a-low']);
    queue.add(item('a-old', 'a', 2, 0, 4));
    queue.add(item('b-new', 'b', 4, 2_500, 5));
    // a-old waited 2.5 levels longer: it ranks above the high task.
    assert.equal(queue.take(() => true)?.id, 'a-old');
  });

  it('ReadyQueue: the turn of a key never lets a task pass one of a higher level that outranks it (found in review)', () => {
    const queue = new ReadyQueue<KeyedItem>();
    // agingMs 1,000: A (level 5, waited 6 s) ranks 5,000; B (level 10, fresh) 4,000; C (level 5, fresh) -900.
    queue.add(item('A0', 'a', 20, 0, 0));
    assert.equal(queue.take(() => true)?.id, 'A0'); // key a has had a turn; key c has not
    queue.add(item('A', 'a', 5, 0, 1));
    queue.add(item('B', 'b', 10, 6_000, 2));
    queue.add(item('C', 'c', 5, 5_900, 3));
    // A has the best rank and C (same level) the oldest turn, but B outranks C by 4,900:
    // C may take A's turn, never B's place.
    const order = [queue.take(() => true)?.id, queue.take(() => true)?.id, queue.take(() => true)?.id];
    assert.ok(order.indexOf('B') < order.indexOf('C'), `order ${order.join(', ')}`);
  });

  it('ReadyQueue: passes over a key that may not run', () => {
    const queue = new ReadyQueue<KeyedItem>();
    queue.add(item('a1', 'a', 3, 0, 1));
    queue.add(item('a2', 'a', 3, 0, 2));
    queue.add(item('b1', 'b', 3, 0, 3));
    const notA = (_type: string, key: string) => key !== 'a';
    assert.equal(queue.take(() => true, notA)?.id, 'b1');
    assert.equal(queue.take(() => true, notA), undefined);
    assert.equal(queue.take(() => true)?.id, 'a1');
  });

  it('starts the single task of a second key within the first few starts after 10,000 of another key (concurrency 2)', () =>
    withRuntime({ concurrency: 2, clock: new ManualClock() }, async (rt) => {
      const { started, release } = gated(rt, 'agent-run');
      rt.define('blocker', { handler: () => new Promise(() => undefined) });
      // Hold both slots while the queue fills, so nothing starts before every task is queued.
      const blockers = [await rt.submit('agent-run', { name: 'hold-1' }), await rt.submit('agent-run', { name: 'hold-2' })];
      await settle();
      assert.equal(started.length, 2);
      for (let i = 0; i < 10_000; i++) await rt.submit('agent-run', { name: `big-${i}` }, { concurrencyKey: 'tenant-big' });
      await rt.submit('agent-run', { name: 'single' }, { concurrencyKey: 'tenant-small' });
      for (let i = 0; i < 4 && !started.includes('single'); i++) {
        release.shift()?.();
        await settle();
      }
      const at = started.indexOf('single') - 2;
      assert.ok(at >= 0 && at <= 2, `the single task started as start ${at + 1} after the blockers (${started.slice(0, 6).join(', ')})`);
      assert.ok(blockers.length === 2);
      // queueStatus and metrics show the keys.
      const metrics = rt.metrics();
      assert.ok((metrics.keys['tenant-big']?.queued ?? 0) > 9_990);
      assert.equal(metrics.keys['tenant-small']?.queued ?? 0, 0);
    }));

  it('keyConcurrency: at most that many run per key; the others wait with reason "key concurrency"', () =>
    withRuntime({ concurrency: 10, clock: new ManualClock() }, async (rt) => {
      const { started, release } = gated(rt, 'agent-run', { keyConcurrency: 2 });
      for (let i = 0; i < 4; i++) await rt.submit('agent-run', { name: `a-${i}` }, { concurrencyKey: 'a' });
      await rt.submit('agent-run', { name: 'b-0' }, { concurrencyKey: 'b' });
      await rt.submit('agent-run', { name: 'free' });
      await settle();
      assert.deepEqual([...started].sort(), ['a-0', 'a-1', 'b-0', 'free']);
      const status = rt.queueStatus();
      assert.deepEqual(
        status.items.map((i) => i.reason),
        ['key concurrency', 'key concurrency'],
      );
      assert.deepEqual(rt.metrics().keys.a, { running: 2, queued: 2 });
      release.shift()?.();
      await settle();
      assert.equal(started.length, 5);
      assert.equal(started[4], 'a-2');
    }));

  it('rejects a bad concurrencyKey and keyConcurrency', async () => {
    await withRuntime({}, async (rt) => {
      assert.throws(() => rt.define('x', { handler: () => 1, keyConcurrency: 0 }), { code: 'STEWARD_INVALID_OPTIONS' });
      rt.define('y', { handler: () => 1 });
      await assert.rejects(rt.submit('y', null, { concurrencyKey: '' as string }), { code: 'STEWARD_INVALID_OPTIONS' });
    });
  });
});
