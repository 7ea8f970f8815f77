import type { JournalRecord } from './journal-record.js';
import type { TaskRecord } from '../model/task-record.js';
import { waitKey, type WaitResult } from '../model/waits.js';

/** The journal records of durable waits. */
export type WaitRecord = Extract<JournalRecord, { type: 'task:suspended' | 'task:signalled' | 'task:woken' }>;

/** True for a record of a durable wait. */
export function isWaitRecord(record: JournalRecord): record is WaitRecord {
  return record.type === 'task:suspended' || record.type === 'task:signalled' || record.type === 'task:woken';
}

/** The table's counter of tasks in `waiting` (dependency waits and durable waits alike). */
interface WaitingCount {
  waiting: number;
}

/**
 * Folds a durable-wait record into its task (the reducer's part for waits), clears
 * what a cancelled task waited for, and lets a manually retried task wait again where
 * a wait timed out. A wait
 * that is over puts the task back in the queue with `queue` (the reducer's own,
 * which also counts it out of `waiting`), with the result its run will get.
 */
export function applyWaitRecord(
  table: WaitingCount,
  task: TaskRecord,
  record: WaitRecord | Extract<JournalRecord, { type: 'task:cancelled' | 'task:retried' }>,
  queue: (task: TaskRecord, at: number) => void,
): void {
  switch (record.type) {
    case 'task:retried':
      // The recorded timeout would fail it again at once: from the first wait of a name
      // that timed out, that name is waited for again (what came before is kept).
      if (task.waits != null) task.waits = withoutTimeouts(task.waits);
      return;
    case 'task:cancelled':
      // The reducer ends it; what it waited for goes (the signals it kept and the waits it came through stay, like its steps).
      if (task.waitingFor != null) task.waitingFor = undefined;
      return;
    case 'task:suspended': {
      if (task.status !== 'waiting') table.waiting++;
      task.status = 'waiting';
      task.waitingFor = { ...record.waitingFor };
      task.enqueuedAt = record.at;
      task.progress = undefined;
      if (record.waitingFor.kind !== 'signal') return;
      // A signal sent before the wait is kept: the first wait of that name takes it.
      const kept = task.signals?.findIndex((s) => s.name === record.waitingFor.name) ?? -1;
      if (kept < 0) return;
      // Copied, not spliced: a snapshot taken before this record shares the old list until it is encoded.
      const signals = task.signals as Array<{ name: string; payload: unknown }>;
      const signal = signals[kept];
      task.signals = signals.length === 1 ? undefined : signals.filter((_, i) => i !== kept);
      resume(task, record.at, { payload: signal?.payload }, queue);
      return;
    }
    case 'task:signalled': {
      const waitingFor = task.waitingFor;
      if (task.status === 'waiting' && waitingFor?.kind === 'signal' && waitingFor.name === record.name) {
        resume(task, record.at, { payload: record.payload }, queue);
        return;
      }
      task.signals = [...(task.signals ?? []), { name: record.name, payload: record.payload }];
      return;
    }
    case 'task:woken': {
      const waitingFor = task.waitingFor;
      if (task.status !== 'waiting' || waitingFor?.name !== record.name) return;
      if (record.reason === 'slept' && waitingFor.kind === 'sleep') resume(task, record.at, { slept: true }, queue);
      else if (record.reason === 'timed_out' && waitingFor.kind === 'signal') resume(task, record.at, { timedOut: true }, queue);
      return;
    }
  }
}

/** The wait results up to (not including) the first timeout of each name; undefined when none is left. */
function withoutTimeouts(waits: Readonly<Record<string, readonly WaitResult[]>>): Record<string, WaitResult[]> | undefined {
  const kept: Record<string, WaitResult[]> = {};
  for (const [key, results] of Object.entries(waits)) {
    const first = results.findIndex((r) => 'timedOut' in r);
    const left = first < 0 ? [...results] : results.slice(0, first);
    if (left.length > 0) kept[key] = left;
  }
  return Object.keys(kept).length > 0 ? kept : undefined;
}

/** The wait is over with `result`: recorded for the runs to come, and the task is queued again. */
function resume(task: TaskRecord, at: number, result: WaitResult, queue: (task: TaskRecord, at: number) => void): void {
  const waitingFor = task.waitingFor;
  if (waitingFor === undefined) return;
  const key = waitKey(waitingFor.kind, waitingFor.name);
  task.waits = { ...task.waits, [key]: [...(task.waits?.[key] ?? []), result] };
  queue(task, at);
  task.waitingFor = undefined;
}
