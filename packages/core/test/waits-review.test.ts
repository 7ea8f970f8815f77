import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyRecord, createTaskTable } from '../src/journal/reducer.js';
import type { JournalRecord } from '../src/journal/journal-record.js';
import { snapshotOf } from '../src/journal/snapshot.js';
import type { RuntimeEvent } from '../src/index.js';
import { ManualClock, withRuntime } from '../src/testing.js';
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

  it('waits again on a manual retry of a task whose wait timed out, and keeps the signals it received before', () => {
    const clock = new ManualClock();
    return withRuntime({ clock }, async (rt) => {
      rt.define('strict', {
        handler: async (_input, ctx) => {
          const first = await ctx.waitForSignal('first');
          const second = await ctx.waitForSignal('go', { timeoutMs: 1_000 });
          return `${String(first)} then ${String(second)}`;
        },
      });
      const handle = await rt.submit('strict');
      const waitingFor = (name: string) =>
        new Promise<void>((resolve) => {
          const check = () => rt.get(handle.id)?.waitingFor?.name === name;
          if (check()) return resolve();
          const s = rt.events$.subscribe(() => {
            if (!check()) return;
            s.unsubscribe();
            resolve();
          });
        });
      await waitingFor('first');
      await rt.signal(handle.id, 'first', 'a');
      await waitingFor('go');
      clock.advance(1_000);
      const failed = await handle.result();
      assert.equal(failed.error?.code, 'STEWARD_SIGNAL_TIMEOUT');
      rt.retry(handle.id);
      await waitingFor('go');
      assert.equal(rt.get(handle.id)?.status, 'waiting', 'the retried task waits for "go" again instead of failing at once');
      await rt.signal(handle.id, 'go', 'b');
      const outcome = await handle.result();
      assert.equal(outcome.status, 'completed');
      assert.equal(outcome.result, 'a then b', 'the signal received before the timeout is kept');
    });
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
