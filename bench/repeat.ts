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
 * drift of the machine (heat, a neighbour) falls on all alike. A measurement may
 * yield several metrics; each becomes a Result row per contestant.
 */
export async function runAlternatingMetrics<C extends Contestant>(
  contestants: readonly C[],
  repetitions: number,
  measure: (contestant: C) => Promise<Record<string, { value: number; unit: string }>>,
  row: { scenario: string; params: Result['params'] },
  log: (line: string) => void,
): Promise<Result[]> {
  const runs = new Map<C, Map<string, { unit: string; values: number[] }>>(contestants.map((c) => [c, new Map()]));
  for (let rep = 0; rep <= repetitions; rep++) {
    for (const contestant of rep % 2 === 0 ? contestants : [...contestants].reverse()) {
      const measured = await measure(contestant);
      const shown = Object.entries(measured).map(([metric, { value, unit }]) => `${metric} ${value < 10 ? value.toFixed(3) : Math.round(value)} ${unit}`);
      log(`  ${rep === 0 ? 'warm-up' : `run ${rep}/${repetitions}`} ${contestant.system} (${contestant.config}): ${shown.join(', ')}`);
      if (rep === 0) continue;
      const metrics = runs.get(contestant) as Map<string, { unit: string; values: number[] }>;
      for (const [metric, { value, unit }] of Object.entries(measured)) {
        const entry = metrics.get(metric) ?? { unit, values: [] };
        entry.values.push(value);
        metrics.set(metric, entry);
      }
    }
  }
  return contestants.flatMap((contestant) =>
    [...(runs.get(contestant) ?? new Map<string, { unit: string; values: number[] }>()).entries()].map(([metric, { unit, values }]) => ({
      scenario: row.scenario,
      system: contestant.system,
      config: contestant.config,
      metric,
      unit,
      ...summarize(values),
      runs: values,
      params: row.params,
    })),
  );
}

/** The one-metric case of {@link runAlternatingMetrics}. */
export function runAlternating<C extends Contestant>(
  contestants: readonly C[],
  repetitions: number,
  measure: (contestant: C) => Promise<number>,
  row: { scenario: string; metric: string; unit: string; params: Result['params'] },
  log: (line: string) => void,
): Promise<Result[]> {
  return runAlternatingMetrics(contestants, repetitions, async (c) => ({ [row.metric]: { value: await measure(c), unit: row.unit } }), { scenario: row.scenario, params: row.params }, log);
}
