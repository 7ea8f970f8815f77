import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import PQueue from 'p-queue';
import { processExecutor } from '@steward/adapters';
import { createRuntime } from '@steward/core';
import { runAlternating, type Contestant } from '../repeat.js';
import type { Result, Scenario, ScenarioOptions } from '../scenario.js';

/** Runs `count` no-op tasks through p-queue in this process: the floor with no isolation. */
async function pQueueRate(count: number, concurrency: number): Promise<number> {
  const queue = new PQueue({ concurrency });
  const start = performance.now();
  await Promise.all(Array.from({ length: count }, () => queue.add(async () => 1)));
  return count / ((performance.now() - start) / 1000);
}

/** Runs `count` inline no-op tasks through Steward (in memory, or on a LevelDB journal). */
async function stewardInlineRate(count: number, concurrency: number, durability?: 'batched' | 'strict'): Promise<number> {
  const dir = durability === undefined ? undefined : await mkdtemp(join(tmpdir(), 'steward-bench-peers-'));
  const rt = await createRuntime({ concurrency, ...(dir === undefined ? {} : { dataDir: dir, durability, snapshotEvery: 10_000_000 }) });
  try {
    rt.define('noop', { handler: async () => 1 });
    const start = performance.now();
    const handles = await Promise.all(Array.from({ length: count }, () => rt.submit('noop')));
    await Promise.all(handles.map((h) => h.result()));
    return count / ((performance.now() - start) / 1000);
  } finally {
    await rt.shutdown();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  }
}

/** `count` spawns of /bin/true, `parallel` at a time: the floor of the process executor. */
async function spawnRate(count: number, parallel: number): Promise<number> {
  const start = performance.now();
  let next = 0;
  const lane = async () => {
    while (next < count) {
      next++;
      await new Promise<void>((resolve, reject) => {
        const child = spawn('/bin/true', [], { stdio: 'ignore' });
        child.on('error', reject);
        child.on('close', () => resolve());
      });
    }
  };
  await Promise.all(Array.from({ length: parallel }, lane));
  return count / ((performance.now() - start) / 1000);
}

/** The same through Steward's process executor. */
async function stewardProcessRate(count: number, parallel: number): Promise<number> {
  const rt = await createRuntime({ concurrency: parallel, executors: [processExecutor()] });
  try {
    rt.define('true', { command: '/bin/true' });
    const start = performance.now();
    const handles = await Promise.all(Array.from({ length: count }, () => rt.submit('true')));
    const outcomes = await Promise.all(handles.map((h) => h.result()));
    if (outcomes.some((o) => o.status !== 'completed')) throw new Error('a process task failed');
    return count / ((performance.now() - start) / 1000);
  } finally {
    await rt.shutdown();
  }
}

type Runner = Contestant & { run(count: number, concurrency: number): Promise<number> };

/** Steward's inline executor against p-queue, in the same process. */
export const inlineVsPQueue: Scenario = {
  name: 'inline-vs-pqueue',
  description: 'N no-op functions: Steward inline (memory, and LevelDB batched) against p-queue in the same process; tasks per second',
  baseline: { system: 'p-queue', match: () => 'in-process' },
  async run({ quick, threads, log }: ScenarioOptions): Promise<Result[]> {
    const count = quick ? 5_000 : 50_000;
    const repetitions = quick ? 2 : 5;
    const runners: Runner[] = [
      { system: 'p-queue', config: 'in-process', run: pQueueRate },
      { system: 'steward', config: 'inline memory', run: (n, c) => stewardInlineRate(n, c) },
      { system: 'steward', config: 'inline leveldb-batched', run: (n, c) => stewardInlineRate(n, c, 'batched') },
    ];
    return runAlternating(runners, repetitions, (r) => r.run(count, threads), { scenario: 'inline-vs-pqueue', metric: 'throughput', unit: 'tasks/s', params: { tasks: count, concurrency: threads, repetitions } }, log);
  },
};

/** Steward's process executor against bare child_process.spawn of /bin/true. */
export const processVsSpawn: Scenario = {
  name: 'process-vs-spawn',
  description: 'N runs of /bin/true, as many at once as threads: Steward process tasks against bare spawn; tasks per second',
  baseline: { system: 'spawn', match: () => 'bare /bin/true' },
  async run({ quick, threads, log }: ScenarioOptions): Promise<Result[]> {
    const count = quick ? 100 : 500;
    const repetitions = quick ? 2 : 5;
    const runners: Runner[] = [
      { system: 'spawn', config: 'bare /bin/true', run: spawnRate },
      { system: 'steward', config: 'process memory', run: stewardProcessRate },
    ];
    return runAlternating(runners, repetitions, (r) => r.run(count, threads), { scenario: 'process-vs-spawn', metric: 'throughput', unit: 'tasks/s', params: { tasks: count, parallel: threads, repetitions } }, log);
  },
};
