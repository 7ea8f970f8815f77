import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyRecord, createTaskTable } from '../src/journal/reducer.js';
import type { JournalRecord } from '../src/journal/journal-record.js';
import { snapshotOf } from '../src/journal/snapshot.js';
import type { RuntimeEvent } from '../src/index.js';
import { withRuntime } from '../src/testing.js';
import { deferred } from './helpers.js';

// Found in review: a snapshot must not change after it is taken, and a signal must not
// move a task that is not waiting for it.

describe('durable waits, as a review found them', () => {
  it('keeps a taken snapshot as it was when a later suspension takes a kept signal (the snapshot is encoded after a flush)', () => {
    const table = createTaskTable(30_000);
    const records: JournalRecord[] = [
      { v: 1, type: 'task:submitted', at: 0, task: { id: 't', type: 'job', input: null, priority: 0, order: 1, dependsOn: [] } },
      { v: 1, type: 'attempt:started', at: 1, taskId: 't', attempt: 1 },
      { v: 1, type: 'task:signalled', at: 2, taskId: 't', name: 'go', payload: 42 },
    ];
    for (const record of records) applyRecord(table, record);
    const snapshot = snapshotOf(table);
    applyRecord(table, { v: 1, type: 'task:suspended', at: 3, taskId: 't', attempt: 1, waitingFor: { kind: 'signal', name: 'go' } } as JournalRecord);
    const kept = snapshot.tasks.find((t) => t.id === 't') as { signals?: unknown };
    assert.deepEqual(kept.signals, [{ name: 'go', payload: 42 }], 'the snapshot still holds the signal the later record took');
  });

  it('does not queue again a task that is already queued (parked on a lock) when a signal arrives for it', () =>
    withRuntime({ concurrency: 2 }, async (rt) => {
      const release = deferred<void>();
      rt.define('holder', { handler: () => release.promise, locks: ['L'] });
      rt.define('parked', { handler: () => 'ran', locks: ['L'] });
      const holder = await rt.submit('holder');
      await new Promise<void>((resolve) => {
        const s = rt.events$.subscribe((e) => {
          if (e.type === 'task:started' && e.taskId === holder.id) {
            s.unsubscribe();
            resolve();
          }
        });
      });
      const parked = await rt.submit('parked');
      await new Promise<void>((resolve) => {
        if (rt.queueStatus().items.some((i) => i.id === parked.id && /lock/.test(i.reason))) return resolve();
        const s = rt.events$.subscribe((e) => {
          if (e.type === 'lock:waiting' && e.taskId === parked.id) {
            s.unsubscribe();
            resolve();
          }
        });
      });
      const events: RuntimeEvent[] = [];
      rt.events$.subscribe((e) => {
        if (e.taskId === parked.id) events.push(e);
      });
      const answer = await rt.signal(parked.id, 'nothing', 1);
      assert.equal(answer.taskStatus, 'queued');
      assert.deepEqual(
        events.map((e) => e.type),
        ['task:signalled'],
        'only the signal is told: the task stays parked where it was',
      );
      release.resolve();
      assert.equal((await parked.result()).status, 'completed');
    }));
});
