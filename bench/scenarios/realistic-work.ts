import PQueue from 'p-queue';
import { Piscina } from 'piscina';
import { createRuntime } from '@steward/core';
import { runAlternating, type Contestant } from '../repeat.js';
import type { Result, Scenario, ScenarioOptions } from '../scenario.js';
import { SPIN_MS } from '../workers/cpu-worker.js';

const NAME = 'realistic-work';
const CPU_WORKER = new URL('../workers/cpu-worker.js', import.meta.url);
/** How long an I/O task waits on its timer, in milliseconds. */
const IO_WAIT_MS = 5;
/** Tasks waiting on I/O at once, for p-queue and Steward alike. */
const IO_CONCURRENCY = 32;

const ioWait = () => new Promise<void>((resolve) => setTimeout(resolve, IO_WAIT_MS));

/** A started system, ready to take a batch of tasks. */
interface Target {
  /** Submits `count` tasks at once and resolves when every one has completed. */
  runBatch(count: number): Promise<void>;
  close(): Promise<void>;
}

type Entrant = Contestant & {
  readonly kind: 'cpu' | 'io';
  open(threads: number): Promise<Target>;
};

async function openPiscina(threads: number): Promise<Target> {
  const pool = new Piscina({ filename: CPU_WORKER.href, minThreads: threads, maxThreads: threads });
  return {
    runBatch: async (count) => {
      await Promise.all(Array.from({ length: count }, () => pool.run(null)));
    },
    close: () => pool.destroy(),
  };
}

async function openPQueue(): Promise<Target> {
  const queue = new PQueue({ concurrency: IO_CONCURRENCY });
  return {
    runBatch: async (count) => {
      await Promise.all(Array.from({ length: count }, () => queue.add(ioWait)));
    },
    close: async () => undefined,
  };
}

/** Steward in memory: the CPU task on the worker executor with `threads` threads, or the I/O task inline with concurrency 32. */
async function openSteward(kind: 'cpu' | 'io', threads: number): Promise<Target> {
  const rt = await createRuntime(
    kind === 'cpu' ? { concurrency: threads, workers: { minThreads: threads, maxThreads: threads } } : { concurrency: IO_CONCURRENCY },
  );
  rt.define('work', kind === 'cpu' ? { module: CPU_WORKER, export: 'default' } : { handler: ioWait });
  return {
    runBatch: async (count) => {
      const handles = await Promise.all(Array.from({ length: count }, () => rt.submit('work', null)));
      const outcomes = await Promise.all(handles.map((handle) => handle.result()));
      const failed = outcomes.filter((outcome) => outcome.status !== 'completed');
      if (failed.length > 0) throw new Error(`${failed.length} of ${count} steward tasks did not complete; first: ${JSON.stringify(failed[0])}`);
    },
    close: () => rt.shutdown(),
  };
}

const CPU_CONFIG = `${SPIN_MS}ms cpu`;
const IO_CONFIG = `${IO_WAIT_MS}ms timer c${IO_CONCURRENCY}`;

const ENTRANTS: readonly Entrant[] = [
  { system: 'piscina', config: `bare ${CPU_CONFIG}`, kind: 'cpu', open: openPiscina },
  { system: 'steward', config: `worker memory ${CPU_CONFIG}`, kind: 'cpu', open: (threads) => openSteward('cpu', threads) },
  { system: 'p-queue', config: `bare ${IO_CONFIG}`, kind: 'io', open: () => openPQueue() },
  { system: 'steward', config: `inline memory ${IO_CONFIG}`, kind: 'io', open: (threads) => openSteward('io', threads) },
];

/**
 * One timed run on a fresh pool, queue or runtime, primed by an untimed small batch
 * so thread start-up and module loading stay out of the timing.
 */
async function measure(entrant: Entrant, threads: number, count: number): Promise<number> {
  const target = await entrant.open(threads);
  try {
    await target.runBatch(entrant.kind === 'cpu' ? threads * 5 : IO_CONCURRENCY);
    const start = performance.now();
    await target.runBatch(count);
    return count / ((performance.now() - start) / 1000);
  } finally {
    await target.close();
  }
}

/**
 * Tasks that do real work, where the machinery's per-task cost should vanish into it:
 * 2 ms of CPU each on worker threads (Steward's worker executor against bare Piscina,
 * same thread count), and 5 ms awaits of a timer (Steward inline against bare p-queue,
 * concurrency 32). The ratios should be near 1.
 */
export const realisticWork: Scenario = {
  name: NAME,
  description: `N tasks of ${SPIN_MS} ms of CPU (worker threads, against Piscina) and N tasks awaiting a ${IO_WAIT_MS} ms timer (inline, concurrency ${IO_CONCURRENCY}, against p-queue); tasks per second`,
  baseline: {
    system: 'piscina',
    systemFor: (config) => (config.endsWith(CPU_CONFIG) ? 'piscina' : 'p-queue'),
    match: (config) => (config.endsWith(CPU_CONFIG) ? `bare ${CPU_CONFIG}` : `bare ${IO_CONFIG}`),
  },
  async run({ quick, threads, log }: ScenarioOptions): Promise<Result[]> {
    const cpuTasks = quick ? 200 : 2_000;
    const ioTasks = quick ? 1_000 : 10_000;
    const repetitions = quick ? 2 : 5;
    return runAlternating(
      ENTRANTS,
      repetitions,
      (e) => measure(e, threads, e.kind === 'cpu' ? cpuTasks : ioTasks),
      { scenario: NAME, metric: 'throughput', unit: 'tasks/s', params: { cpuTasks, ioTasks, spinMs: SPIN_MS, ioWaitMs: IO_WAIT_MS, ioConcurrency: IO_CONCURRENCY, threads, repetitions } },
      log,
    );
  },
};
