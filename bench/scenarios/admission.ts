import { createRuntime } from '@steward/core';
import type { Result, Scenario, ScenarioOptions } from '../scenario.js';
import { runAlternating } from '../repeat.js';

const NAME = 'admission';
const LOCKS = 100;
const BUCKETS = 10;
const KEYS = 10;

interface Config {
  readonly config: string;
  readonly coordinated: boolean;
}

const CONFIGS: readonly Config[] = [
  { config: 'inline memory plain', coordinated: false },
  { config: 'inline memory 100 locks 10 buckets 10 keys', coordinated: true },
];

/** Queues `tasks` no-op tasks at once (each with one of 100 locks, one of 10 buckets and one of 10 concurrency keys, or none) and returns tasks/s to drain them. */
async function measure(config: Config, tasks: number, concurrency: number): Promise<number> {
  const rateLimits: Record<string, { limit: number; intervalMs: number }> = {};
  // Buckets wide enough never to make anyone wait for time: what is measured is the
  // cost of the checks, the parking and the hand-over on release, not the window.
  for (let b = 0; b < BUCKETS; b++) rateLimits[`bucket-${b}`] = { limit: 1_000_000, intervalMs: 1_000 };
  const rt = await createRuntime({ concurrency, rateLimits });
  try {
    rt.define('noop', { handler: () => 1 });
    const options = (i: number) => (config.coordinated ? { locks: [`lock-${i % LOCKS}`], rateLimit: `bucket-${i % BUCKETS}`, concurrencyKey: `key-${i % KEYS}` } : undefined);
    const start = performance.now();
    const handles = [];
    for (let i = 0; i < tasks; i++) handles.push(await rt.submit('noop', null, options(i)));
    const outcomes = await Promise.all(handles.map((h) => h.result()));
    const seconds = (performance.now() - start) / 1000;
    if (outcomes.some((o) => o.status !== 'completed')) throw new Error('a task did not complete');
    return tasks / seconds;
  } finally {
    await rt.shutdown();
  }
}

/** 10,000 queued tasks contending for 100 locks and 10 buckets, taking turns between 10 concurrency keys, against the same tasks with no coordination. */
export const admission: Scenario = {
  name: NAME,
  description: `N inline no-op tasks queued at once, each taking one of ${LOCKS} exclusive locks and a token from one of ${BUCKETS} buckets, with one of ${KEYS} concurrency keys, against the same tasks without; tasks admitted and completed per second`,
  baseline: { system: 'steward', match: () => 'inline memory plain' },
  async run({ quick, threads, log }: ScenarioOptions): Promise<Result[]> {
    const tasks = quick ? 2_000 : 10_000;
    const repetitions = quick ? 2 : 3;
    const concurrency = Math.max(threads, 8);
    return runAlternating(
      CONFIGS.map((c) => ({ ...c, system: 'steward' as const })),
      repetitions,
      (config) => measure(config, tasks, concurrency),
      { scenario: NAME, metric: 'admission', unit: 'tasks/s', params: { tasks, locks: LOCKS, buckets: BUCKETS, keys: KEYS, concurrency, repetitions } },
      log,
    );
  },
};
