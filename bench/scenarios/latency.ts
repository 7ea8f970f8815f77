import { Piscina } from 'piscina';
import PQueue from 'p-queue';
import { createRuntime } from '@steward/core';
import { runAlternatingMetrics, type Contestant } from '../repeat.js';
import type { Result, Scenario, ScenarioOptions } from '../scenario.js';

const WORKER = new URL('../workers/noop-worker.js', import.meta.url);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

/** A system as the latency scenario drives it: one call submits and resolves when the task is done. */
interface Driver {
  call(): Promise<unknown>;
  close(): Promise<void>;
}

async function stewardDriver(executor: 'inline' | 'worker', threads: number): Promise<Driver> {
  const rt = await createRuntime({ concurrency: threads, workers: { minThreads: threads, maxThreads: threads } });
  rt.define('noop', executor === 'worker' ? { module: WORKER, export: 'default' } : { handler: async () => 1 });
  return { call: async () => (await rt.submit('noop')).result(), close: () => rt.shutdown() };
}

async function pQueueDriver(threads: number): Promise<Driver> {
  const queue = new PQueue({ concurrency: threads });
  return { call: () => queue.add(async () => 1), close: async () => undefined };
}

/** The floor of the inline executor: the same async function, awaited directly. */
async function bareAwaitDriver(): Promise<Driver> {
  const fn = async () => 1;
  return { call: async () => await fn(), close: async () => undefined };
}

async function piscinaDriver(threads: number): Promise<Driver> {
  const pool = new Piscina({ filename: WORKER.href, minThreads: threads, maxThreads: threads });
  return { call: () => pool.run(null), close: () => pool.destroy() };
}

/** p50 and p99 of submit-to-complete: one at a time (low load), and all at once (saturation). */
async function measure(open: () => Promise<Driver>, low: number, burst: number): Promise<Record<string, { value: number; unit: string }>> {
  const driver = await open();
  try {
    for (let i = 0; i < 50; i++) await driver.call(); // threads up, JIT warm
    const sequential: number[] = [];
    for (let i = 0; i < low; i++) {
      const start = performance.now();
      await driver.call();
      sequential.push(performance.now() - start);
    }
    const saturated: number[] = [];
    const start = performance.now();
    await Promise.all(Array.from({ length: burst }, () => driver.call().then(() => saturated.push(performance.now() - start))));
    sequential.sort((a, b) => a - b);
    saturated.sort((a, b) => a - b);
    return {
      'p50 low load': { value: percentile(sequential, 50), unit: 'ms' },
      'p99 low load': { value: percentile(sequential, 99), unit: 'ms' },
      'p50 saturated': { value: percentile(saturated, 50), unit: 'ms' },
      'p99 saturated': { value: percentile(saturated, 99), unit: 'ms' },
    };
  } finally {
    await driver.close();
  }
}

type Entrant = Contestant & { open(): Promise<Driver> };

/**
 * Submit-to-complete latency at low load and at saturation. Steward's worker executor
 * is set against a bare Piscina round trip, its inline executor against a bare
 * `await fn()` of the same function; p-queue runs beside them for reference.
 */
export const latency: Scenario = {
  name: 'latency',
  description: 'submit-to-complete time of a no-op task: one at a time (low load) and N at once (saturation); p50 and p99 in ms; worker against Piscina, inline against a bare await',
  baseline: {
    system: 'node',
    systemFor: (config) => (config.startsWith('worker') ? 'piscina' : 'node'),
    match: (config) => (config.startsWith('worker') ? 'bare' : 'bare await fn()'),
  },
  async run({ quick, threads, log }: ScenarioOptions): Promise<Result[]> {
    const low = quick ? 300 : 2_000;
    const burst = quick ? 2_000 : 20_000;
    const repetitions = quick ? 2 : 3;
    const entrants: Entrant[] = [
      { system: 'node', config: 'bare await fn()', open: () => bareAwaitDriver() },
      { system: 'p-queue', config: 'in-process', open: () => pQueueDriver(threads) },
      { system: 'piscina', config: 'bare', open: () => piscinaDriver(threads) },
      { system: 'steward', config: 'inline memory', open: () => stewardDriver('inline', threads) },
      { system: 'steward', config: 'worker memory', open: () => stewardDriver('worker', threads) },
    ];
    return runAlternatingMetrics(entrants, repetitions, (e) => measure(() => e.open(), low, burst), { scenario: 'latency', params: { low, burst, threads, repetitions } }, log);
  },
};
