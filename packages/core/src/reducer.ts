import type { JournalRecord } from './journal-record.js';
import { rankOf } from './ready-queue.js';
import type { TaskRecord } from './task-record.js';
import { taskError } from './task-error.js';

/** The state the journal folds into: every task this runtime knows. */
export interface TaskTable {
  readonly tasks: Map<string, TaskRecord>;
  readonly byIdempotencyKey: Map<string, string>;
  /** Submission order of the next task. */
  nextOrder: number;
  readonly agingMs: number;
}

/** An empty table. */
export function createTaskTable(agingMs: number): TaskTable {
  return { tasks: new Map(), byIdempotencyKey: new Map(), nextOrder: 1, agingMs };
}

function queue(task: TaskRecord, at: number, agingMs: number): void {
  task.status = 'queued';
  task.enqueuedAt = at;
  task.rank = rankOf(task.priority, at, agingMs);
  task.retryAt = undefined;
}

/**
 * Folds one journal record into the table. This is the only code that changes a
 * task's status, live and during replay alike, so what replay rebuilds is what
 * the live runtime had. It has no I/O and no clock: time comes from the record.
 * Returns the task the record touched, or undefined for a record about an unknown
 * task (possible after retention dropped it), which is ignored.
 */
export function applyRecord(table: TaskTable, record: JournalRecord): TaskRecord | undefined {
  if (record.type === 'task:submitted') {
    const t = record.task;
    const task: TaskRecord = {
      id: t.id,
      type: t.type,
      input: t.input,
      priority: t.priority,
      order: t.order,
      ticket: 0,
      rank: 0,
      createdAt: record.at,
      timeoutMs: t.timeoutMs,
      retries: t.retries,
      idempotencyKey: t.idempotencyKey,
      metadata: t.metadata,
      dependsOn: t.dependsOn,
      status: 'queued',
      attempts: 0,
      budgetUsed: 0,
      enqueuedAt: record.at,
      startedAt: undefined,
      endedAt: undefined,
      retryAt: undefined,
      result: undefined,
      error: undefined,
      progress: undefined,
      cancelReason: undefined,
      steps: undefined,
      interruptions: 0,
    };
    queue(task, record.at, table.agingMs);
    table.tasks.set(task.id, task);
    if (t.idempotencyKey !== undefined) table.byIdempotencyKey.set(t.idempotencyKey, t.id);
    if (t.order >= table.nextOrder) table.nextOrder = t.order + 1;
    return task;
  }
  const task = table.tasks.get(record.taskId);
  if (task === undefined) return undefined;
  switch (record.type) {
    case 'attempt:started':
      task.status = 'running';
      task.attempts = record.attempt;
      task.startedAt = record.at;
      task.endedAt = undefined;
      task.progress = undefined;
      break;
    case 'attempt:ended':
      if (record.counts !== false) task.budgetUsed++;
      if (record.retryAt !== undefined) {
        task.status = 'retrying';
        task.retryAt = record.retryAt;
        task.error = record.error;
        break;
      }
      task.status = record.end;
      task.endedAt = record.at;
      task.result = record.result;
      task.error = record.error;
      task.cancelReason = record.reason;
      break;
    case 'attempt:interrupted':
      task.interruptions++;
      task.progress = undefined;
      if (record.counts === true) task.budgetUsed++;
      if (record.error !== undefined) {
        task.status = 'failed';
        task.endedAt = record.at;
        task.error = record.error;
        break;
      }
      queue(task, record.at, table.agingMs);
      break;
    case 'step:completed':
      task.steps = { ...task.steps, [record.name]: record.result };
      break;
    case 'task:requeued':
      queue(task, record.at, table.agingMs);
      break;
    case 'task:cancelled':
      task.status = 'cancelled';
      task.endedAt = record.at;
      task.retryAt = undefined;
      task.cancelReason = record.reason;
      task.error = taskError('STEWARD_CANCELLED', record.reason ?? 'cancelled', false);
      break;
    case 'task:retried':
      queue(task, record.at, table.agingMs);
      task.budgetUsed = 0;
      task.interruptions = 0;
      task.endedAt = undefined;
      task.result = undefined;
      task.error = undefined;
      task.progress = undefined;
      task.cancelReason = undefined;
      break;
  }
  return task;
}
