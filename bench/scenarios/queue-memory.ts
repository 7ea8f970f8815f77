import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runAlternatingMetrics, type Contestant } from '../repeat.js';
import type { Result, Scenario, ScenarioOptions } from '../scenario.js';

const SCRIPT = fileURLToPath(new URL('../workers/queue-memory.js', import.meta.url));

/** Runs the measuring script in a fresh process, so nothing of this one is counted. */
function measure(system: string, count: number): Promise<{ rssPerTask: number; heapPerTask: number }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--expose-gc', '--max-old-space-size=8192', SCRIPT, system, String(count)], { maxBuffer: 1 << 20 }, (error, stdout) => {
      if (error !== null) reject(error);
      else resolve(JSON.parse(stdout.trim().split('\n').at(-1) as string));
    });
  });
}

type Entrant = Contestant & { system: 'steward' | 'p-queue'; count: number };

/** Memory per queued task, with 100k and 1M tasks waiting (quick: 20k), against p-queue holding as many. */
export const queueMemory: Scenario = {
  name: 'queue-memory',
  description: 'bytes of RSS and of JS heap per queued (not yet running) task, N queued behind a task that never ends; Steward in memory against p-queue',
  baseline: { system: 'p-queue', match: (config) => config.replace('steward memory', 'p-queue') },
  async run({ quick, log }: ScenarioOptions): Promise<Result[]> {
    const counts = quick ? [20_000] : [100_000, 1_000_000];
    const label = (n: number) => (n >= 1_000_000 ? `${n / 1_000_000}M` : `${n / 1_000}k`);
    const entrants: Entrant[] = counts.flatMap((count) => [
      { system: 'p-queue' as const, config: `p-queue ${label(count)} queued`, count },
      { system: 'steward' as const, config: `steward memory ${label(count)} queued`, count },
    ]);
    return runAlternatingMetrics(
      entrants,
      quick ? 1 : 2,
      async (e) => {
        const m = await measure(e.system, e.count);
        return { 'rss per task': { value: m.rssPerTask, unit: 'bytes' }, 'heap per task': { value: m.heapPerTask, unit: 'bytes' } };
      },
      { scenario: 'queue-memory', params: { counts: counts.join(',') } },
      log,
    );
  },
};
