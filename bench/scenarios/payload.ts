import { Piscina } from 'piscina';
import { createRuntime } from '@steward/core';
import { runAlternatingMetrics, type Contestant } from '../repeat.js';
import type { Result, Scenario, ScenarioOptions } from '../scenario.js';

const WORKER = new URL('../workers/noop-worker.js', import.meta.url);
const SIZES = [
  ['1KB', 1_024],
  ['100KB', 100 * 1_024],
] as const;

type Entrant = Contestant & { rate(input: unknown, count: number, threads: number): Promise<number> };

async function piscinaRate(input: unknown, count: number, threads: number): Promise<number> {
  const pool = new Piscina({ filename: WORKER.href, minThreads: threads, maxThreads: threads });
  try {
    await Promise.all(Array.from({ length: threads * 10 }, () => pool.run(input)));
    const start = performance.now();
    await Promise.all(Array.from({ length: count }, () => pool.run(input)));
    return count / ((performance.now() - start) / 1000);
  } finally {
    await pool.destroy();
  }
}

async function stewardRate(input: unknown, count: number, threads: number): Promise<number> {
  const rt = await createRuntime({ concurrency: threads, workers: { minThreads: threads, maxThreads: threads } });
  try {
    rt.define('noop', { module: WORKER, export: 'default' });
    await Promise.all((await Promise.all(Array.from({ length: threads * 10 }, () => rt.submit('noop', input)))).map((h) => h.result()));
    const start = performance.now();
    const handles = await Promise.all(Array.from({ length: count }, () => rt.submit('noop', input)));
    await Promise.all(handles.map((h) => h.result()));
    return count / ((performance.now() - start) / 1000);
  } finally {
    await rt.shutdown();
  }
}

/** Throughput with 1 KB and 100 KB inputs (structured-cloned to the thread), against Piscina. */
export const payload: Scenario = {
  name: 'payload',
  description: 'N worker tasks whose input is a 1 KB or a 100 KB string: Steward worker against bare Piscina; tasks per second',
  baseline: { system: 'piscina', match: () => 'bare' },
  async run({ quick, threads, log }: ScenarioOptions): Promise<Result[]> {
    const counts = { '1KB': quick ? 2_000 : 20_000, '100KB': quick ? 500 : 5_000 };
    const repetitions = quick ? 2 : 3;
    const entrants: Entrant[] = [
      { system: 'piscina', config: 'bare', rate: piscinaRate },
      { system: 'steward', config: 'worker memory', rate: stewardRate },
    ];
    return runAlternatingMetrics(
      entrants,
      repetitions,
      async (e) => {
        const out: Record<string, { value: number; unit: string }> = {};
        for (const [label, bytes] of SIZES) out[`throughput ${label}`] = { value: await e.rate('x'.repeat(bytes), counts[label], threads), unit: 'tasks/s' };
        return out;
      },
      { scenario: 'payload', params: { ...counts, threads, repetitions } },
      log,
    );
  },
};
