import type { JournalRecord, ScheduleSpecRecord } from '../journal/journal-record.js';

/** A schedule as the journal rebuilds it. */
export interface ScheduleState {
  readonly id: string;
  spec: ScheduleSpecRecord;
  /** When it was made (or last replaced): where an `every` grid starts. */
  createdAt: number;
  /** Every firing at or before this time is done with: fired, skipped, or missed while paused. */
  cursor: number;
  paused: boolean;
  /** Fire time of the last firing that submitted a task. */
  last: number | undefined;
  lastTaskId: string | undefined;
}

/** A journal record about a schedule. */
export type ScheduleJournalRecord = Extract<JournalRecord, { type: `schedule:${string}` }>;

/** True for the records {@link applyScheduleRecord} folds. */
export function isScheduleRecord(record: JournalRecord): record is ScheduleJournalRecord {
  return record.type.startsWith('schedule:');
}

/**
 * Folds a schedule record into the schedules by id. Replacing a schedule keeps its
 * last firing (so `overlap: 'skip'` still waits for that task) and starts it afresh,
 * not paused, from the record's time.
 */
export function applyScheduleRecord(schedules: Map<string, ScheduleState>, record: ScheduleJournalRecord): void {
  if (record.type === 'schedule:set') {
    const before = schedules.get(record.scheduleId);
    schedules.set(record.scheduleId, {
      id: record.scheduleId,
      spec: record.spec,
      createdAt: record.at,
      cursor: record.at,
      paused: false,
      last: before?.last,
      lastTaskId: before?.lastTaskId,
    });
    return;
  }
  const schedule = schedules.get(record.scheduleId);
  if (schedule === undefined) return;
  switch (record.type) {
    case 'schedule:fired':
      schedule.cursor = Math.max(schedule.cursor, record.fireAt);
      schedule.last = record.fireAt;
      schedule.lastTaskId = record.taskId;
      return;
    case 'schedule:skipped':
      schedule.cursor = Math.max(schedule.cursor, record.through);
      return;
    case 'schedule:paused':
      schedule.paused = true;
      return;
    case 'schedule:resumed':
      schedule.paused = false;
      schedule.cursor = Math.max(schedule.cursor, record.at);
      return;
    case 'schedule:removed':
      schedules.delete(record.scheduleId);
      return;
    default:
      return;
  }
}

/** A copy of `state` as plain data (for a snapshot). */
export function copySchedule(state: ScheduleState): ScheduleState {
  return { ...state, spec: { ...state.spec } };
}

/** A schedule loaded from a snapshot (whose absent fields may come back as null). */
export function restoreSchedule(saved: ScheduleState): ScheduleState {
  return { ...saved, last: saved.last ?? undefined, lastTaskId: saved.lastTaskId ?? undefined };
}
