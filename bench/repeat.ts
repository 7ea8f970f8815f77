import type { Result, System } from './scenario.js';
import { summarize } from './stats.js';

/** What is measured: a system in one configuration. */
export interface Contestant {
  readonly system: System;
  readonly config: string;
}

/**
 * Measures every contestant once to warm up (discarded), then `repetitions` times,
 * alternating within each repetition and reversing the order every other one, so a
 * drift of the machine (heat, a neighbour) falls on all alike. One Result each.
 */
export async function runAlternating<C extends Contestant>(
  contestants: readonly C[],
  repetitions: number,
  measure: (contestant: C) => Promise<number>,
  row: { scenario: string; metric: string; unit: string; params: Result['params'] },
  log: (line: string) => void,
): Promise<Result[]> {
  const runs = new Map<C, number[]>(contestants.map((c) => [c, []]));
  for (let rep = 0; rep <= repetitions; rep++) {
    for (const contestant of rep % 2 === 0 ? contestants : [...contestants].reverse()) {
      const value = await measure(contestant);
      if (rep > 0) runs.get(contestant)?.push(value);
      log(`  ${rep === 0 ? 'warm-up' : `run ${rep}/${repetitions}`} ${contestant.system} (${contestant.config}): ${Math.round(value)} ${row.unit}`);
    }
  }
  return contestants.map((contestant) => {
    const values = runs.get(contestant) ?? [];
    return { scenario: row.scenario, system: contestant.system, config: contestant.config, metric: row.metric, unit: row.unit, ...summarize(values), runs: values, params: row.params };
  });
}
