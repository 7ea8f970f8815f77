import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ParkingLot } from '../src/coordination/parking-lot.js';
import { RemoteAdmission } from '../src/coordination/remote-admission.js';
import type { RemoteGate } from '../src/coordination/remote-gate.js';
import type { TaskRecord } from '../src/model/task-record.js';

// Remote admission (a cluster's locks, keys and buckets) against a gate in memory: what
// it parks it hands back once held, and leaves nothing behind in the parking lot.

/** A gate that says "not now" `refusals` times per task, then holds. */
function gate(refusals: number): RemoteGate & { released: string[] } {
  const asked = new Map<string, number>();
  const released: string[] = [];
  return {
    released,
    parkKey: (task) => `key:${task.concurrencyKey ?? ''}`,
    ask: async (task) => {
      const n = (asked.get(task.id) ?? 0) + 1;
      asked.set(task.id, n);
      return n > refusals;
    },
    changed: () => new Promise((resolve) => setImmediate(resolve)),
    release: (task) => void released.push(task.id),
    // Units for running handlers are not what these tests are about.
    take: () => Promise.reject(new Error('no bucket in this gate')),
    adjust: () => undefined,
    pause: () => undefined,
  };
}

function task(i: number): TaskRecord {
  return { id: `t${i}`, type: 'work', concurrencyKey: `tenant-${i}`, rank: 0, order: i, ticket: 0 } as unknown as TaskRecord;
}

describe('RemoteAdmission', () => {
  it('hands each task back once the gate holds it, and leaves no lot behind (one per key, of many keys)', async () => {
    const parked = new ParkingLot<TaskRecord>();
    const granted: string[] = [];
    const waiting: string[] = [];
    const remote = new RemoteAdmission(gate(2), parked, { granted: (t) => void granted.push(t.id), waiting: (t) => void waiting.push(t.id) });
    const tasks = Array.from({ length: 50 }, (_, i) => task(i));
    for (const t of tasks) assert.equal(remote.admit(t, remote.keyOf(t) as string), false);
    while (granted.length < tasks.length) await new Promise((resolve) => setImmediate(resolve));
    assert.equal(waiting.length, 50, 'each told once that it waits');
    for (const t of tasks) assert.equal(remote.admit(t, remote.keyOf(t) as string), true, 'held: it may start');
    assert.equal(parked.size, 0);
    assert.equal(parked.lots, 0, 'no lot left for keys nobody waits on');
  });

  it('lets go of a hold that came after the task stopped waiting', async () => {
    const parked = new ParkingLot<TaskRecord>();
    const g = gate(0);
    const remote = new RemoteAdmission(g, parked, { granted: () => assert.fail('not granted: it stopped waiting'), waiting: () => undefined });
    const t = task(1);
    remote.admit(t, remote.keyOf(t) as string);
    parked.remove(t); // cancelled while its ask is on its way
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(g.released, ['t1']);
    assert.equal(parked.lots, 0);
  });
});
