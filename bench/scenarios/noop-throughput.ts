import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRuntime } from '@steward/core';
import { Piscina } from 'piscina';
import type { Result, Scenario, ScenarioOptions, System } from '../scenario.js';
import { runAlternating } from '../repeat.js';
import noop from '../workers/noop-worker.js';
import { BENCH_TRACING, startTracing, stopTracing } from '../tracing-provider.js';

const NAME = 'noop-throughput';
const WORKER = new URL('../workers/noop-worker.js', import.meta.url);

/** A started system, ready to take a batch of no-op tasks. */
interface Target {
  /** Submits `count` tasks at once and resolves when every one has completed. */
  runBatch(count: number): Promise<void>;
  close(): Promise<void>;
}

interface Contender {
  readonly system: System;
  readonly config: string;
  open(threads: number): Promise<Target>;
}

async function openPiscina(threads: number): Promise<Target> {
  const pool = new Piscina({ filename: WORKER.href, minThreads: threads, maxThreads: threads });
  return {
    // pool.run rejects when a task fails, so Promise.all is the completion check.
    runBatch: async (count) => {
      await Promise.all(Array.from({ length: count }, () => pool.run(null)));
    },
    close: () => pool.destroy(),
  };
}

/**
 * Running tasks per thread that the worker configurations allow (`concurrency` =
 * threads × this): the tasks beyond the threads wait in the executor and go to a
 * thread in batches. Bare Piscina gets every task at once into its own queue.
 */
const WORKER_DEPTH = Number(process.env.STEWARD_BENCH_WORKER_DEPTH ?? 32);

/** Steward on the in-memory journal, or (`journal: 'leveldb-batched'`) on a fresh LevelDB journal in batched durability. */
async function openSteward(threads: number, executor: 'worker' | 'inline', traced = false, journal: 'memory' | 'leveldb-batched' = 'memory', depth = WORKER_DEPTH): Promise<Target> {
  if (traced) startTracing();
  const dir = journal === 'memory' ? undefined : await mkdtemp(join(tmpdir(), 'steward-bench-noop-'));
  const rt = await createRuntime({
    concurrency: executor === 'worker' ? threads * depth : threads,
    workers: { minThreads: threads, maxThreads: threads },
    ...(dir === undefined ? {} : { dataDir: dir, durability: 'batched' as const, snapshotEvery: 10_000_000 }),
  });
  rt.define('noop', executor === 'worker' ? { module: WORKER, export: 'default' } : { handler: noop });
  return {
    runBatch: async (count) => {
      // submit() is synchronous up to its first await in batched durability, so
      // this queues every task before the first one can finish.
      const handles = await Promise.all(Array.from({ length: count }, () => rt.submit('noop', null)));
      const outcomes = await Promise.all(handles.map((handle) => handle.result()));
      const failed = outcomes.filter((outcome) => outcome.status !== 'completed');
      if (failed.length > 0) throw new Error(`${failed.length} of ${count} steward tasks did not complete; first: ${JSON.stringify(failed[0])}`);
    },
    close: async () => {
      await rt.shutdown();
      if (dir !== undefined) await rm(dir, { recursive: true, force: true });
      if (traced) stopTracing();
    },
  };
}

const CONTENDERS: readonly Contender[] = [
  { system: 'piscina', config: 'bare', open: openPiscina },
  { system: 'steward', config: 'worker memory', open: (threads) => openSteward(threads, 'worker') },
  // The durable worker path: the issue-14 target is this one against bare Piscina.
  { system: 'steward', config: 'worker leveldb-batched', open: (threads) => openSteward(threads, 'worker', false, 'leveldb-batched') },
  // The same with concurrency = threads: nothing waits for a thread, so no batch forms.
  { system: 'steward', config: 'worker memory unbatched', open: (threads) => openSteward(threads, 'worker', false, 'memory', 1) },
  { system: 'steward', config: 'inline memory', open: (threads) => openSteward(threads, 'inline') },
  // STEWARD_BENCH_TRACING=1: the same with a tracer provider registered (see tracing-provider.ts).
  ...(BENCH_TRACING
    ? [
        { system: 'steward', config: 'worker memory traced', open: (threads: number) => openSteward(threads, 'worker', true) },
        { system: 'steward', config: 'inline memory traced', open: (threads: number) => openSteward(threads, 'inline', true) },
      ] as const
    : []),
];

/**
 * One timed run on a fresh pool or runtime, so no run inherits the tasks of the
 * one before. Starting threads and loading the worker module are kept out of the
 * timing by a small untimed batch first.
 */
async function measure(contender: Contender, threads: number, tasks: number): Promise<number> {
  const target = await contender.open(threads);
  try {
    await target.runBatch(threads * 50);
    const start = performance.now();
    await target.runBatch(tasks);
    const seconds = (performance.now() - start) / 1000;
    return tasks / seconds;
  } finally {
    await target.close();
  }
}


/**
 * N no-op tasks submitted at once then awaited: Steward's worker executor (on the
 * memory journal and on a LevelDB journal in batched durability) and inline executor
 * against a bare Piscina pool. With STEWARD_BENCH_TRACING=1 the two Steward
 * configurations run a second time each with an OpenTelemetry tracer provider registered
 * (spans made and dropped), alternating with the others, to measure tracing's cost.
 */
export const noopThroughput: Scenario = {
  name: NAME,
  description: 'N no-op tasks submitted at once then awaited; tasks per second',
  baseline: { system: 'piscina', match: () => 'bare' },
  async run({ quick, threads, log }: ScenarioOptions): Promise<Result[]> {
    const tasks = quick ? 5_000 : 50_000;
    const repetitions = quick ? 3 : 5;
    return runAlternating(CONTENDERS, repetitions, (contender) => measure(contender, threads, tasks), { scenario: NAME, metric: 'throughput', unit: 'tasks/s', params: { tasks, threads, repetitions } }, log);
  },
};
