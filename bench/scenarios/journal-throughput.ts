import { encode } from '@msgpack/msgpack';
import { Level } from 'level';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRuntime } from '@steward/core';
import type { Result, Scenario, ScenarioOptions, System } from '../scenario.js';
import { runAlternating } from '../repeat.js';
import noop from '../workers/noop-worker.js';

const NAME = 'journal-throughput';
const WORKER = new URL('../workers/noop-worker.js', import.meta.url);
// What bare LevelDB writes per task: the same three records Steward journals.
const RECORDS_PER_TASK = 3;
const BARE_BATCH = 3_000;

interface Contender {
  readonly system: System;
  readonly config: string;
  /** Runs `tasks` tasks (or their records) in `dir` and returns tasks per second. */
  measure(dir: string, tasks: number, threads: number): Promise<number>;
}

async function stewardRate(dir: string, tasks: number, threads: number, durability: 'batched' | 'strict', executor: 'inline' | 'worker'): Promise<number> {
  const rt = await createRuntime({
    dataDir: dir,
    durability,
    concurrency: threads,
    workers: { minThreads: threads, maxThreads: threads },
    snapshotEvery: 10_000_000,
  });
  try {
    rt.define('noop', executor === 'worker' ? { module: WORKER, export: 'default' } : { handler: noop });
    const start = performance.now();
    const handles = await Promise.all(Array.from({ length: tasks }, () => rt.submit('noop', null)));
    const outcomes = await Promise.all(handles.map((h) => h.result()));
    const seconds = (performance.now() - start) / 1000;
    if (outcomes.some((o) => o.status !== 'completed')) throw new Error('a steward task did not complete');
    return tasks / seconds;
  } finally {
    await rt.shutdown();
  }
}

/** The floor: the same number of records of the same shape, encoded and written in batches, nothing else. */
async function bareRate(dir: string, tasks: number, sync: boolean): Promise<number> {
  const db = new Level<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' });
  await db.open();
  try {
    const start = performance.now();
    let seq = 0;
    let ops: Array<{ type: 'put'; key: string; value: Uint8Array }> = [];
    for (let i = 0; i < tasks; i++) {
      const id = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
      const records = [
        { v: 1, type: 'task:submitted', at: Date.now(), task: { id, type: 'noop', input: null, priority: 3, order: i + 1, dependsOn: [] } },
        { v: 1, type: 'attempt:started', at: Date.now(), taskId: id, attempt: 1 },
        { v: 1, type: 'attempt:ended', at: Date.now(), taskId: id, attempt: 1, end: 'completed', result: 1 },
      ];
      for (const record of records) ops.push({ type: 'put', key: `r!${String(++seq).padStart(16, '0')}`, value: encode([1, record]) });
      if (ops.length >= BARE_BATCH) {
        await db.batch(ops, { sync });
        ops = [];
      }
    }
    if (ops.length > 0) await db.batch(ops, { sync });
    return tasks / ((performance.now() - start) / 1000);
  } finally {
    await db.close();
  }
}

const CONTENDERS: readonly Contender[] = [
  { system: 'leveldb', config: 'bare batched', measure: (dir, tasks) => bareRate(dir, tasks, false) },
  { system: 'steward', config: 'inline leveldb-batched', measure: (dir, tasks, threads) => stewardRate(dir, tasks, threads, 'batched', 'inline') },
  { system: 'steward', config: 'worker leveldb-batched', measure: (dir, tasks, threads) => stewardRate(dir, tasks, threads, 'batched', 'worker') },
  { system: 'leveldb', config: 'bare strict', measure: (dir, tasks) => bareRate(dir, tasks, true) },
  { system: 'steward', config: 'inline leveldb-strict', measure: (dir, tasks, threads) => stewardRate(dir, tasks, threads, 'strict', 'inline') },
];

/** Tasks through a journaled runtime against bare LevelDB writing the same records. */
export const journalThroughput: Scenario = {
  name: NAME,
  description: `N no-op tasks with the LevelDB journal on, against bare LevelDB writing the same ${RECORDS_PER_TASK} records per task in batches; tasks per second`,
  baseline: { system: 'leveldb', match: (config) => (config.includes('strict') ? 'bare strict' : 'bare batched') },
  async run({ quick, threads, log }: ScenarioOptions): Promise<Result[]> {
    const tasks = quick ? 3_000 : 30_000;
    const repetitions = quick ? 2 : 3;
    return runAlternating(
      CONTENDERS,
      repetitions,
      async (contender) => {
        // A fresh directory each run; the warm-up run also warms the disk.
        const dir = await mkdtemp(join(tmpdir(), 'steward-bench-journal-'));
        try {
          return await contender.measure(dir, tasks, threads);
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      },
      { scenario: NAME, metric: 'throughput', unit: 'tasks/s', params: { tasks, threads, repetitions } },
      log,
    );
  },
};
