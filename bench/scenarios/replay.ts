import { decode } from '@msgpack/msgpack';
import { Level } from 'level';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRuntime } from '@steward/core';
import { LevelLogStore } from '@steward/store';
import type { Result, Scenario, ScenarioOptions, System } from '../scenario.js';
import { runAlternatingMetrics } from '../repeat.js';

const NAME = 'replay';

/** Writes a journal of `tasks` finished tasks (three records each) with no snapshot, as a crash would leave it. */
async function writeJournal(dataDir: string, tasks: number): Promise<number> {
  const store = await LevelLogStore.open(join(dataDir, 'journal'));
  const at = Date.now();
  let batch: unknown[] = [];
  for (let i = 0; i < tasks; i++) {
    const id = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
    batch.push(
      { v: 1, type: 'task:submitted', at, task: { id, type: 'noop', input: { n: i }, priority: 3, order: i + 1, dependsOn: [] } },
      { v: 1, type: 'attempt:started', at, taskId: id, attempt: 1 },
      { v: 1, type: 'attempt:ended', at, taskId: id, attempt: 1, end: 'completed', result: i },
    );
    if (batch.length >= 30_000) {
      await store.append(batch).durable;
      batch = [];
    }
  }
  if (batch.length > 0) await store.append(batch).durable;
  const records = store.lastSeq;
  await store.close();
  return records;
}

interface Contender {
  readonly system: System;
  readonly config: string;
  /** Opens the copy in `dataDir` and returns the seconds it took to have every record in memory. */
  measure(dataDir: string): Promise<number>;
}

const CONTENDERS: readonly Contender[] = [
  {
    system: 'leveldb',
    config: 'bare iterate+decode',
    async measure(dataDir) {
      const start = performance.now();
      const db = new Level<string, Uint8Array>(join(dataDir, 'journal'), { keyEncoding: 'utf8', valueEncoding: 'view' });
      await db.open();
      let n = 0;
      for await (const [, value] of db.iterator({ gte: 'r!', lt: 'r!~' })) if (decode(value) !== undefined) n++;
      const seconds = (performance.now() - start) / 1000;
      await db.close();
      if (n === 0) throw new Error('nothing replayed');
      return seconds;
    },
  },
  {
    system: 'steward',
    config: 'runtime open leveldb',
    async measure(dataDir) {
      const start = performance.now();
      const rt = await createRuntime({ dataDir, snapshotEvery: 10_000_000 });
      const seconds = (performance.now() - start) / 1000;
      if (rt.recovery.replayedRecords === 0) throw new Error('nothing replayed');
      await rt.shutdown();
      return seconds;
    },
  },
];

/** Startup of a runtime over a journal with no snapshot, against bare LevelDB reading and decoding the same records. */
export const replay: Scenario = {
  name: NAME,
  description: 'open a data directory whose journal holds N records (1M in a full run) and no snapshot; records replayed per second, and the time to open',
  baseline: { system: 'leveldb', match: () => 'bare iterate+decode' },
  async run({ quick, log }: ScenarioOptions): Promise<Result[]> {
    // A full run opens a journal of a million records: the startup figure of the targets.
    const tasks = quick ? 10_000 : 333_334;
    const repetitions = quick ? 2 : 3;
    const template = await mkdtemp(join(tmpdir(), 'steward-bench-replay-'));
    try {
      const records = await writeJournal(template, tasks);
      log(`  journal of ${records} records written`);
      return await runAlternatingMetrics(
        CONTENDERS,
        repetitions,
        async (contender) => {
          // Each run opens a fresh copy: a runtime snapshots and compacts on shutdown.
          const copy = await mkdtemp(join(tmpdir(), 'steward-bench-replay-run-'));
          try {
            await cp(template, copy, { recursive: true });
            const seconds = await contender.measure(copy);
            return { replay: { value: records / seconds, unit: 'records/s' }, startup: { value: seconds * 1000, unit: 'ms' } };
          } finally {
            await rm(copy, { recursive: true, force: true });
          }
        },
        { scenario: NAME, params: { tasks, records, repetitions } },
        log,
      );
    } finally {
      await rm(template, { recursive: true, force: true });
    }
  },
};
