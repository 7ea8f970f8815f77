import { createRuntime } from '@steward/core';
import { runAlternating, type Contestant } from '../repeat.js';
import type { Result, Scenario, ScenarioOptions } from '../scenario.js';

/** Throughput of `count` high-priority tasks while `queued` others wait in the queue. */
async function rateWith(queued: number, count: number, concurrency: number): Promise<number> {
  const rt = await createRuntime({ concurrency, maxQueue: queued + count + 10, snapshotEvery: 100_000_000 });
  try {
    // One never-ending task holds its type's single slot; the rest of its type waits in the heap.
    rt.define('parked', { concurrency: 1, handler: () => new Promise(() => undefined) });
    rt.define('noop', { handler: async () => 1 });
    for (let i = 0; i < queued; i++) rt.fireAndForget('parked', null, { priority: 'background' }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 0));
    const start = performance.now();
    const handles = await Promise.all(Array.from({ length: count }, () => rt.submit('noop', null, { priority: 'high' })));
    await Promise.all(handles.map((h) => h.result()));
    return count / ((performance.now() - start) / 1000);
  } finally {
    await rt.shutdown({ timeoutMs: 0 });
  }
}

/** Does throughput stay flat as the queue grows from 1k to 1M? */
export const queueGrowth: Scenario = {
  name: 'queue-growth',
  description: 'throughput of N high-priority inline tasks while K others wait in the queue, K from 1k up (1M in a full run); tasks per second',
  baseline: { system: 'steward', match: () => 'inline memory 1k queued' },
  async run({ quick, threads, log }: ScenarioOptions): Promise<Result[]> {
    const sizes = quick ? [1_000, 10_000, 100_000] : [1_000, 10_000, 100_000, 1_000_000];
    const count = quick ? 5_000 : 20_000;
    const concurrency = Math.max(threads, 4);
    const label = (n: number) => (n >= 1_000_000 ? `${n / 1_000_000}M` : `${n / 1_000}k`);
    const entrants: Array<Contestant & { queued: number }> = sizes.map((queued) => ({ system: 'steward', config: `inline memory ${label(queued)} queued`, queued }));
    return runAlternating(entrants, quick ? 1 : 3, (e) => rateWith(e.queued, count, concurrency), { scenario: 'queue-growth', metric: 'throughput', unit: 'tasks/s', params: { tasks: count, concurrency, sizes: sizes.join(',') } }, log);
  },
};
