import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PriorityQueue } from '../src/scheduling/priority-queue.js';
import { rankOf, ReadyQueue, type ReadyItem } from '../src/scheduling/ready-queue.js';

function item(id: string, type: string, priority: number, enqueuedAt: number, order: number, agingMs = 1_000): ReadyItem {
  return { id, type, order, ticket: 0, rank: rankOf(priority, enqueuedAt, agingMs) };
}

describe('PriorityQueue', () => {
  it('pops items in comparator order whatever the insertion order', () => {
    const queue = new PriorityQueue<number>((a, b) => a < b);
    const values = Array.from({ length: 200 }, (_, i) => (i * 7919) % 211);
    for (const v of values) queue.push(v);
    const out: number[] = [];
    while (queue.size > 0) out.push(queue.pop() as number);
    assert.deepEqual(out, [...values].sort((a, b) => a - b));
    assert.equal(queue.pop(), undefined);
  });
});

describe('ReadyQueue', () => {
  it('ranks a higher priority first and keeps a level FIFO', () => {
    const queue = new ReadyQueue<ReadyItem>();
    queue.add(item('low', 't', 2, 0, 1));
    queue.add(item('high-1', 't', 4, 10, 2));
    queue.add(item('high-2', 't', 4, 10, 3));
    const out = [queue.take(() => true)?.id, queue.take(() => true)?.id, queue.take(() => true)?.id];
    assert.deepEqual(out, ['high-1', 'high-2', 'low']);
  });

  it('raises a task one level for every agingMs it has waited longer than another', () => {
    assert.ok(rankOf(2, 0, 1_000) < rankOf(3, 999, 1_000), 'waited 999 ms more: still below');
    assert.ok(rankOf(2, 0, 1_000) > rankOf(3, 1_001, 1_000), 'waited 1001 ms more: above');
    assert.equal(rankOf(2, 12_345, 0), 2, 'no aging: the rank is the priority');
  });

  it('passes over a type that may not run and takes the best of the others', () => {
    const queue = new ReadyQueue<ReadyItem>();
    queue.add(item('a', 'blocked', 5, 0, 1));
    queue.add(item('b', 'free', 1, 0, 2));
    assert.equal(queue.take((type) => type !== 'blocked')?.id, 'b');
    assert.equal(queue.take((type) => type !== 'blocked'), undefined);
    assert.equal(queue.size, 1);
    assert.equal(queue.take(() => true)?.id, 'a');
  });

  it('forgets removed items and can queue them again', () => {
    const queue = new ReadyQueue<ReadyItem>();
    const a = item('a', 't', 3, 0, 1);
    queue.add(a);
    queue.add(item('b', 't', 3, 0, 2));
    assert.equal(queue.remove(a), true);
    assert.equal(queue.remove(a), false);
    assert.deepEqual(queue.ordered().map((i) => i.id), ['b']);
    queue.add(a);
    assert.equal(queue.size, 2);
    assert.deepEqual(queue.ordered().map((i) => i.id), ['a', 'b']);
    assert.equal(queue.take(() => true)?.id, 'a');
    assert.equal(queue.take(() => true)?.id, 'b');
    assert.equal(queue.take(() => true), undefined);
  });
});
