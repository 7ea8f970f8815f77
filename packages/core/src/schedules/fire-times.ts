import type { ScheduleSpecRecord } from '../journal/journal-record.js';
import { cronOf } from './schedule-spec.js';

/** Where a schedule's firings fall: its spec and, for an `every` grid, where the grid starts. */
export interface FireGrid {
  readonly spec: ScheduleSpecRecord;
  readonly createdAt: number;
}

const crons = new WeakMap<ScheduleSpecRecord, ReturnType<typeof cronOf>>();

function cron(spec: ScheduleSpecRecord & { cron: string }): ReturnType<typeof cronOf> {
  let parsed = crons.get(spec);
  if (parsed === undefined) {
    parsed = cronOf(spec.cron, spec.timezone);
    crons.set(spec, parsed);
  }
  return parsed;
}

/** The first fire time strictly after `after`, or undefined when the schedule never fires again. */
export function nextFireAfter(grid: FireGrid, after: number): number | undefined {
  const { spec } = grid;
  if (spec.every !== undefined) {
    // createdAt + k * every, k >= 1: the first grid point past `after`.
    const k = Math.max(1, Math.floor((after - grid.createdAt) / spec.every) + 1);
    return grid.createdAt + k * spec.every;
  }
  return cron(spec as ScheduleSpecRecord & { cron: string }).nextRun(new Date(after))?.getTime();
}

/**
 * The latest `keep` firings in (`after`, `until`], oldest first. No more than that
 * is enumerated, however long the span (a year of downtime of a once-a-second
 * schedule costs as much as a minute of it).
 */
export function dueBetween(grid: FireGrid, after: number, until: number, keep: number): number[] {
  const { spec } = grid;
  if (until <= after || keep <= 0) return [];
  if (spec.every !== undefined) {
    const first = Math.max(1, Math.floor((after - grid.createdAt) / spec.every) + 1);
    const last = Math.floor((until - grid.createdAt) / spec.every);
    const latest: number[] = [];
    for (let k = Math.max(first, last - keep + 1); k <= last; k++) latest.push(grid.createdAt + k * spec.every);
    return latest;
  }
  const pattern = cron(spec as ScheduleSpecRecord & { cron: string });
  const first = pattern.nextRun(new Date(after))?.getTime();
  if (first === undefined || first > until) return [];
  // previousRuns counts back from its reference, a run in the reference's own second included.
  const latest = pattern
    .previousRuns(keep, new Date(until + 1))
    .map((d) => d.getTime())
    .filter((t) => t > after && t <= until)
    .reverse();
  return latest.length > 0 ? latest : [first];
}
