import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { withRuntime } from '../src/testing.js';
import type { Runtime } from '../src/api/runtime.js';
import type { RuntimeEvent } from '../src/events/events.js';
import type { ExecutionRequest, ExecutionSink } from '../src/executors/executor.js';
import { batchSize, WorkerExecutor } from '../src/executors/worker/worker-executor.js';
import type { ResolvedDefinition } from '../src/model/task-definition.js';
import type { TaskError } from '../src/model/task-error.js';
import { WORKERS } from './helpers.js';

// Batching to worker threads: with more tasks running than threads (concurrency 8 on
// one thread), the tasks waiting for the thread go to it several in one message. The
// first task of a burst goes alone (the thread was free); the rest form a batch when
// it returns. One stopped task of a batch terminates the thread: the others of that
// batch that had not ended run again, interrupted, no retry spent.

const BATCHING = { concurrency: 8, workers: { minThreads: 1, maxThreads: 1 } };
const NO_RETRY = { attempts: 0 };

/** Collects the `attempt:interrupted` events of the runtime. */
function interruptions(rt: Runtime): Array<Extract<RuntimeEvent, { type: 'attempt:interrupted' }>> {
  const seen: Array<Extract<RuntimeEvent, { type: 'attempt:interrupted' }>> = [];
  rt.events({ policy: 'block' }).subscribe((event) => {
    if (event.type === 'attempt:interrupted') seen.push(event);
  });
  return seen;
}

describe('batches of tasks on one worker thread', () => {
  it('sizes a batch by the waiting tasks spread over the free threads, capped, and one at low load', () => {
    assert.equal(batchSize(0, 2, 32), 0);
    assert.equal(batchSize(5, 0, 32), 0);
    assert.equal(batchSize(1, 2, 32), 1);
    assert.equal(batchSize(2, 2, 32), 1);
    assert.equal(batchSize(30, 1, 32), 30);
    assert.equal(batchSize(100, 2, 32), 32);
    assert.equal(batchSize(100, 2, 1), 1);
  });

  it('hands a deep queue to a thread in one message, and every task keeps its own outcome', async () => {
    const executor = new WorkerExecutor({ minThreads: 1, maxThreads: 1, idleTimeoutMs: 1_000, maxBatch: 32 }, () => undefined);
    try {
      const definition = { type: 'double', kind: 'worker', moduleUrl: WORKERS.href, exportName: 'default' } as ResolvedDefinition;
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, n) => {
          const { promise, sink } = recordingSink();
          executor.execute(request(`t${n}`, definition, { n }), sink);
          return promise;
        }),
      );
      assert.deepEqual(
        results.map((r) => (r.result as { doubled: number }).doubled),
        Array.from({ length: 10 }, (_, n) => n * 2),
      );
      // Each its own progress and log line, in order.
      for (const r of results) assert.deepEqual(r.reports, ['progress 50 half way', 'log', 'progress 100']);
      // The first alone (the thread was free), the nine that waited in one batch.
      assert.equal(executor.messagesSent, 2);
    } finally {
      await executor.close();
    }
  });

  it('with batching off (maxBatch 1) sends one message per task', async () => {
    const executor = new WorkerExecutor({ minThreads: 1, maxThreads: 1, idleTimeoutMs: 1_000, maxBatch: 1 }, () => undefined);
    try {
      const definition = { type: 'noop', kind: 'worker', moduleUrl: WORKERS.href, exportName: 'noop' } as ResolvedDefinition;
      await Promise.all(
        Array.from({ length: 6 }, (_, n) => {
          const { promise, sink } = recordingSink();
          executor.execute(request(`t${n}`, definition, null), sink);
          return promise;
        }),
      );
      assert.equal(executor.messagesSent, 6);
    } finally {
      await executor.close();
    }
  });

  it('a restart of the pool hands the tasks that waited for a thread to the new pool, none to the old one', async () => {
    // One task per message, so that some still wait after the new pool has taken its first.
    const executor = new WorkerExecutor({ minThreads: 1, maxThreads: 1, idleTimeoutMs: 1_000, maxBatch: 1 }, () => undefined);
    try {
      const slow = { type: 'slow', kind: 'worker', moduleUrl: WORKERS.href, exportName: 'slowNoop' } as ResolvedDefinition;
      const running = recordingSink(); // slowNoop: 60 ms, so the others are still waiting when the pools change
      executor.execute(request('running', slow, null), running.sink);
      const waiting = Array.from({ length: 3 }, (_, n) => {
        const { promise, sink } = recordingSink();
        executor.execute(request(`w${n}`, slow, null), sink);
        return promise;
      });
      await executor.restart();
      // The one on the old pool ends with it; the three that waited run on the new one.
      assert.equal((await running.promise).error?.code, 'STEWARD_WORKER_CRASHED');
      assert.deepEqual((await Promise.all(waiting)).map((end) => end.result ?? end.error?.code), ['slow done', 'slow done', 'slow done']);
    } finally {
      await executor.close();
    }
  });

  it('a timeout inside a batch: that task times out, the others of its batch run again, interrupted, no retry spent', () =>
    withRuntime(BATCHING, async (rt) => {
      rt.define('noop', { module: WORKERS, export: 'noop', retries: NO_RETRY });
      rt.define('spin', { module: WORKERS, export: 'spin', retries: NO_RETRY });
      const seen = interruptions(rt);
      const [first, stuck, a, b] = await Promise.all([rt.submit('noop'), rt.submit('spin', null, { timeoutMs: 300 }), rt.submit('noop'), rt.submit('noop')]);
      const [firstOutcome, stuckOutcome, aOutcome, bOutcome] = await Promise.all([first, stuck, a, b].map((h) => h.result()));
      assert.equal(firstOutcome?.status, 'completed');
      assert.equal(firstOutcome?.attempts, 1);
      assert.equal(stuckOutcome?.status, 'timed_out');
      for (const outcome of [aOutcome, bOutcome]) {
        assert.equal(outcome?.status, 'completed');
        assert.equal(outcome?.attempts, 2); // the interrupted attempt, then the one that ran
      }
      assert.deepEqual(
        seen.map((e) => [e.taskId, e.attempt, e.reason]).sort(),
        [[a.id, 1, 'batch'], [b.id, 1, 'batch']].sort(),
      );
    }));

  it('a crash inside a batch fails only the task that ran; the others of its batch run again', () =>
    withRuntime(BATCHING, async (rt) => {
      rt.define('noop', { module: WORKERS, export: 'noop', retries: NO_RETRY });
      rt.define('exit', { module: WORKERS, export: 'exit', retries: NO_RETRY });
      const seen = interruptions(rt);
      const [first, crashing, a, b] = await Promise.all([rt.submit('noop'), rt.submit('exit'), rt.submit('noop'), rt.submit('noop')]);
      const [firstOutcome, crashOutcome, aOutcome, bOutcome] = await Promise.all([first, crashing, a, b].map((h) => h.result()));
      assert.equal(firstOutcome?.status, 'completed');
      assert.equal(crashOutcome?.status, 'failed');
      assert.equal(crashOutcome?.error?.code, 'STEWARD_WORKER_CRASHED');
      assert.equal(aOutcome?.status, 'completed');
      assert.equal(bOutcome?.status, 'completed');
      assert.deepEqual(seen.map((e) => e.taskId).sort(), [a.id, b.id].sort());
      assert.ok(seen.every((e) => e.reason === 'batch'));
    }));

  it('cancel of a task waiting in a batch: it is cancelled; the one running before it runs again without repeating its recorded step', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'steward-batch-'));
    try {
      await withRuntime(BATCHING, async (rt) => {
        rt.define('noop', { module: WORKERS, export: 'noop', retries: NO_RETRY });
        rt.define('stepThenWait', { module: WORKERS, export: 'stepThenWait', retries: NO_RETRY });
        const marker = join(dir, 'marker');
        const seen = interruptions(rt);
        const [first, stepping, target, after] = await Promise.all([
          rt.submit('noop'),
          rt.submit('stepThenWait', { marker, ms: 300 }),
          rt.submit('noop'),
          rt.submit('noop'),
        ]);
        // Step "one" is recorded and the task waits on the thread, the target behind it.
        let cancelled = false;
        stepping.progress$.subscribe(() => {
          if (cancelled) return;
          cancelled = true;
          void rt.cancel(target.id, 'not wanted');
        });
        const [firstOutcome, steppingOutcome, targetOutcome, afterOutcome] = await Promise.all([first, stepping, target, after].map((h) => h.result()));
        assert.equal(firstOutcome?.status, 'completed');
        assert.equal(targetOutcome?.status, 'cancelled');
        assert.equal(steppingOutcome?.status, 'completed');
        assert.equal(steppingOutcome?.result, 2, 'its second attempt returned');
        assert.equal(afterOutcome?.status, 'completed');
        assert.deepEqual(seen.map((e) => e.taskId).sort(), [stepping.id, after.id].sort());
        // At least once, and the recorded step did not run again.
        const lines = (await readFile(marker, 'utf8')).trim().split('\n');
        assert.deepEqual(lines, [`one ${stepping.id}`, `two ${stepping.id}`]);
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('progress, output and steps of batched tasks stay with their own task', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'steward-batch-'));
    try {
      await withRuntime(BATCHING, async (rt) => {
        rt.define('double', { module: WORKERS });
        rt.define('stepper', { module: WORKERS, export: 'stepper' });
        const marker = join(dir, 'marker');
        const handles = await Promise.all([
          ...Array.from({ length: 4 }, (_, n) => rt.submit('double', { n })),
          ...Array.from({ length: 3 }, () => rt.submit('stepper', { marker })),
        ]);
        const progress = new Map<string, Array<[number, string | undefined]>>();
        const steps = new Map<string, string[]>();
        rt.events({ policy: 'block' }).subscribe((event) => {
          if (event.type === 'task:progress') progress.set(event.taskId, [...(progress.get(event.taskId) ?? []), [event.percent, event.message]]);
          if (event.type === 'task:step') steps.set(event.taskId, [...(steps.get(event.taskId) ?? []), event.name]);
        });
        const outcomes = await Promise.all(handles.map((h) => h.result()));
        assert.ok(outcomes.every((o) => o.status === 'completed'));
        for (const [n, handle] of handles.slice(0, 4).entries()) {
          assert.equal((outcomes[n]?.result as { doubled: number }).doubled, n * 2);
          assert.deepEqual(progress.get(handle.id), [[50, 'half way'], [100, undefined]]);
          const lines: string[] = [];
          for await (const chunk of rt.output(handle.id)) lines.push(chunk.data);
          assert.deepEqual(lines, [`doubling ${n}`]);
        }
        for (const handle of handles.slice(4)) {
          assert.deepEqual(steps.get(handle.id), ['one', 'two']);
        }
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

function request(taskId: string, definition: ResolvedDefinition, input: unknown): ExecutionRequest {
  return { taskId, type: definition.type, attempt: 1, input, definition, dependencies: {}, steps: {}, signal: new AbortController().signal };
}

/** A sink that records reports and resolves with the end. */
function recordingSink(): { promise: Promise<{ result?: unknown; error?: TaskError; reports: string[] }>; sink: ExecutionSink } {
  const reports: string[] = [];
  let resolve!: (end: { result?: unknown; error?: TaskError; reports: string[] }) => void;
  const promise = new Promise<{ result?: unknown; error?: TaskError; reports: string[] }>((r) => (resolve = r));
  const sink: ExecutionSink = {
    progress: (percent, message) => reports.push(`progress ${percent}${message === undefined ? '' : ` ${message}`}`),
    output: () => reports.push('log'),
    step: () => undefined,
    rateLimit: () => Promise.resolve(),
    succeeded: (result) => resolve({ result, reports }),
    failed: (error) => resolve({ error, reports }),
    crashed: (error) => resolve({ error, reports }),
    processStarted: () => undefined,
  };
  return { promise, sink };
}
