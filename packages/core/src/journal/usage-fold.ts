import type { TaskRecord } from '../model/task-record.js';

/** Folds a `usage:recorded` record: `units` more (or, from a usage report, fewer) of `bucket` used by the task. */
export function addUsage(task: TaskRecord, bucket: string, units: number): void {
  task.usage = { ...task.usage, [bucket]: (task.usage?.[bucket] ?? 0) + units };
}
