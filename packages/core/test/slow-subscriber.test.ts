import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { describe, it } from 'node:test';
import { isStewardError, type RuntimeEvent } from '../src/index.js';
import { withRuntime } from '../src/testing.js';
import { SUBSCRIBER_BURST_MS } from '../src/events/event-delivery.js';
import { deferred } from './helpers.js';

const code = (c: string) => (error: unknown) => isStewardError(error) && error.code === c;

/** A synchronous subscriber's work: holds the thread for `ms` (a stand-in for slow logging, parsing, I/O). */
function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

/**
 * Checks that `received` is what a drop-oldest subscriber may see of `all`: the
 * events in order, each `stream:dropped` standing for exactly the `count` events
 * skipped at that point, and nothing left over. Returns the total dropped.
 */
function assertDropOldest(all: RuntimeEvent[], received: RuntimeEvent[]): number {
  let next = 0;
  let dropped = 0;
  for (const event of received) {
    if (event.type === 'stream:dropped') {
      assert.ok(event.count > 0);
      next += event.count;
      dropped += event.count;
      continue;
    }
    assert.equal(event, all[next], `event ${next} of ${all.length}`);
    next++;
  }
  assert.equal(next, all.length, 'every event was either handed over or counted as dropped');
  return dropped;
}

describe('a slow subscriber', () => {
  it('does not pace the runtime: it is handed the newest events, told how many it missed, in order', () => {
    const N = 200;
    const bufferSize = 16;
    const all: RuntimeEvent[] = [];
    const slow: RuntimeEvent[] = [];
    const slowEnded = deferred();
    let seenWhenDone = -1;
    return withRuntime({ concurrency: 8 }, async (rt) => {
      rt.define('t', { handler: (i: number) => i });
      // The reference: every event, synchronously.
      rt.events({ policy: 'block' }).subscribe((e) => all.push(e));
      rt.events({ bufferSize }).subscribe({
        next: (e) => {
          slow.push(e);
          // Far past its share of the thread: everything after the first waits for later turns.
          if (e.type !== 'stream:dropped') busy(10);
        },
        complete: () => slowEnded.resolve(),
      });
      // Submitted in one turn: at least N events arrive before the subscriber's next turn.
      const submitting = Array.from({ length: N }, (_, i) => rt.submit('t', i));
      // Still in that turn: the subscriber was handed the first event and is busy with nothing else.
      assert.equal(slow.length, 1);
      assert.ok(all.length >= N);
      const handles = await Promise.all(submitting);
      const outcomes = await Promise.all(handles.map((h) => h.result()));
      assert.equal(outcomes.filter((o) => o.status === 'completed').length, N);
      seenWhenDone = slow.length;
      // Every task ended while the subscriber was still behind: it has not been handed the last event.
      assert.ok(!slow.includes(all.at(-1) as RuntimeEvent), 'the last event waits in the slow subscriber’s buffer');
    }).then(async () => {
      // After shutdown the buffer is drained and the stream completes.
      await slowEnded.promise;
      assert.equal(all.filter((e) => e.type === 'task:completed').length, N);
      const dropped = assertDropOldest(all, slow);
      const notices = slow.filter((e): e is Extract<RuntimeEvent, { type: 'stream:dropped' }> => e.type === 'stream:dropped');
      // The submission burst alone overflowed the buffer: the first notice counts at least N - bufferSize.
      assert.ok((notices[0]?.count ?? 0) >= N - bufferSize, `first notice ${notices[0]?.count}`);
      assert.ok(dropped >= N - bufferSize);
      assert.ok(seenWhenDone < all.length);
    });
  });

  it('with policy "block" is handed every event synchronously, however slow', () =>
    withRuntime({ concurrency: 8 }, async (rt) => {
      const N = 20;
      const all: RuntimeEvent[] = [];
      const blocking: RuntimeEvent[] = [];
      rt.events({ policy: 'block' }).subscribe((e) => all.push(e));
      rt.events({ policy: 'block', bufferSize: 1 }).subscribe((e) => {
        blocking.push(e);
        busy(2);
      });
      rt.define('t', { handler: (i: number) => i });
      const first = await rt.submit('t', 0);
      assert.deepEqual(blocking.map((e) => e.type), ['task:submitted', 'task:queued']);
      const handles = [first];
      for (let i = 1; i < N; i++) handles.push(await rt.submit('t', i));
      await Promise.all(handles.map((h) => h.result()));
      assert.deepEqual(blocking, all);
      assert.equal(blocking.filter((e) => e.type === 'task:completed').length, N);
    }));

  it('that keeps up is handed every event as it happens, with no notice', () =>
    withRuntime({}, async (rt) => {
      const seen: string[] = [];
      rt.events$.subscribe((e) => seen.push(e.type));
      rt.define('t', { handler: () => 1 });
      // submit emits task:submitted and task:queued before its first await.
      const before = performance.now();
      const submitting = rt.submit('t');
      const tookMs = performance.now() - before;
      const atOnce = [...seen];
      // Pacing charges a callback the wall time it took: a thread descheduled inside one (a
      // loaded machine) looks like a slow subscriber, and the next event may wait a turn.
      // Only then may the events come later; when the submit itself took less than the
      // burst, both were handed over at once.
      if (tookMs < SUBSCRIBER_BURST_MS) assert.deepEqual(atOnce, ['task:submitted', 'task:queued']);
      else assert.deepEqual(atOnce, ['task:submitted', 'task:queued'].slice(0, atOnce.length));
      await (await submitting).result();
      for (const since = performance.now(); seen.length < 4 && performance.now() - since < 2_000; ) await new Promise((resolve) => setTimeout(resolve, 1));
      assert.deepEqual(seen, ['task:submitted', 'task:queued', 'task:started', 'task:completed']);
    }));

  it('listening with rt.on() is warned through the logger with the count, and still gets the newest events', () => {
    const N = 1_100;
    const warnings: string[] = [];
    const logger = { debug() {}, info() {}, warn: (message: string) => void warnings.push(message), error() {} };
    const heard: string[] = [];
    // Only task:submitted takes room in its buffer (1024 by default): of the N - 1 that
    // arrive while it is busy with the first, the oldest N - 1 - 1024 are dropped.
    const droppedCount = N - 1 - 1024;
    const last = deferred();
    const gate = deferred();
    return withRuntime({ logger, concurrency: 1 }, async (rt) => {
      // Only the submissions matter here; the tasks wait for the end of the test.
      rt.define('t', { handler: () => gate.promise });
      rt.on('task:submitted', (e) => {
        heard.push(e.taskId);
        if (heard.length === N - droppedCount) last.resolve();
        // Slow once, at the start of the burst: the rest of the burst has to wait for it.
        if (heard.length === 1) busy(10);
      });
      const submitting = Array.from({ length: N }, (_, i) => rt.submit('t', i));
      // Still in the turn of the burst: the listener has been handed the first only.
      assert.equal(heard.length, 1);
      const handles = await Promise.all(submitting);
      await last.promise;
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(warnings, [`steward: a "task:submitted" listener fell behind; ${droppedCount} of its events were dropped`]);
      assert.deepEqual(heard, [handles[0]?.id, ...handles.slice(1 + droppedCount).map((h) => h.id)]);
      gate.resolve();
    });
  });

  it('refuses bad options with STEWARD_INVALID_OPTIONS', () =>
    withRuntime({}, async (rt) => {
      assert.throws(() => rt.events({ bufferSize: 0 }), code('STEWARD_INVALID_OPTIONS'));
      assert.throws(() => rt.events({ bufferSize: 1.5 }), code('STEWARD_INVALID_OPTIONS'));
      assert.throws(() => rt.events({ policy: 'drop-newest' as never }), code('STEWARD_INVALID_OPTIONS'));
      assert.throws(() => rt.events({ buffer: 3 } as never), code('STEWARD_INVALID_OPTIONS'));
      assert.throws(() => rt.events('block' as never), code('STEWARD_INVALID_OPTIONS'));
    }));
});
