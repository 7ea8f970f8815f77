import { percentile } from './metrics.js';
import type { TaskOutcome } from '../model/types.js';

/** The report of `executeMultiple`. */
export interface MultiReport {
  total: number;
  successful: number;
  failed: number;
  /** Percent, 0..100. */
  successRate: number;
  /** Wall time from the first submission to the last end. */
  totalDurationMs: number;
  averageDurationMs: number;
  p50DurationMs: number;
  p95DurationMs: number;
  /** Whether the successful tasks agreed: one distinct result, or none. */
  consistency: { consistent: boolean; distinctResults: number };
}

/** A stable text form of a value: object keys sorted, so equal data compares equal. */
export function stableStringify(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? String(value);
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value instanceof Map) return `Map${stableStringify([...value.entries()])}`;
  if (value instanceof Set) return `Set${stableStringify([...value.values()])}`;
  if (value instanceof Date) return `Date(${value.getTime()})`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${stableStringify((value as Record<string, unknown>)[k])}`).join(',')}}`;
}

/** Builds the report from the outcomes, in submission order, and the time the batch began. */
export function buildMultiReport(outcomes: readonly TaskOutcome[], startedAt: number): MultiReport {
  const successful = outcomes.filter((o) => o.status === 'completed');
  const durations = outcomes
    .filter((o) => o.startedAt !== undefined)
    .map((o) => o.endedAt - (o.startedAt as number))
    .sort((a, b) => a - b);
  const lastEnd = outcomes.reduce((max, o) => Math.max(max, o.endedAt), startedAt);
  const distinct = new Set(successful.map((o) => stableStringify(o.result))).size;
  return {
    total: outcomes.length,
    successful: successful.length,
    failed: outcomes.length - successful.length,
    successRate: outcomes.length === 0 ? 0 : (successful.length / outcomes.length) * 100,
    totalDurationMs: Math.max(0, lastEnd - startedAt),
    averageDurationMs: durations.length === 0 ? 0 : durations.reduce((a, b) => a + b, 0) / durations.length,
    p50DurationMs: percentile(durations, 50),
    p95DurationMs: percentile(durations, 95),
    consistency: { consistent: distinct <= 1, distinctResults: distinct },
  };
}
