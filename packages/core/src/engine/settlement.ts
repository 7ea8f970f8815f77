import type { RuntimeEvent } from '../events/events.js';
import type { TaskError } from '../model/task-error.js';
import type { TaskRecord } from '../model/task-record.js';
import type { TaskTable } from '../journal/reducer.js';
import type { TaskOutcome, TerminalStatus } from '../model/types.js';

const NO_DEPENDENCIES: Readonly<Record<string, unknown>> = Object.freeze({});

/** Results of a task's dependencies, by task id (and by workflow task id for workflow tasks). */
export function dependencyResults(table: TaskTable, task: TaskRecord): Readonly<Record<string, unknown>> {
  if (task.dependencyResults !== undefined) return task.dependencyResults;
  if (task.dependsOn.length === 0) return NO_DEPENDENCIES;
  const results: Record<string, unknown> = {};
  for (const id of task.dependsOn) {
    const dependency = table.tasks.get(id);
    if (dependency?.status !== 'completed') continue;
    results[id] = dependency.result;
    if (dependency.workflowTaskId !== undefined) results[dependency.workflowTaskId] = dependency.result;
  }
  return results;
}

/** What a task's webhook POSTs when it ends: its outcome, type and metadata. */
export function webhookPayload(task: TaskRecord, outcome: TaskOutcome): Record<string, unknown> {
  return { ...outcome, type: task.type, ...(task.metadata === undefined ? {} : { metadata: task.metadata }) };
}

/** The outcome of a task that has ended. */
export function outcomeOf(task: TaskRecord, status: TerminalStatus): TaskOutcome {
  const outcome: TaskOutcome = { taskId: task.id, status, endedAt: task.endedAt ?? 0, attempts: task.attempts };
  if (task.startedAt !== undefined) {
    outcome.startedAt = task.startedAt;
    outcome.durationMs = outcome.endedAt - task.startedAt;
  }
  if (status === 'completed') outcome.result = task.result;
  if (task.error !== undefined) outcome.error = task.error;
  return outcome;
}

/** The terminal event of a task, from its outcome (built before anyone is told). */
export function terminalEvent(outcome: TaskOutcome, at: number, durationMs: number | undefined, cancelReason: string | undefined): RuntimeEvent {
  const base = { taskId: outcome.taskId, at, attempts: outcome.attempts };
  const error = outcome.error as TaskError;
  switch (outcome.status) {
    case 'completed':
      return { ...base, type: 'task:completed', result: outcome.result, durationMs: durationMs ?? 0 };
    case 'failed':
      return { ...base, type: 'task:failed', error };
    case 'timed_out':
      return { ...base, type: 'task:timed_out', error };
    default:
      return { ...base, type: 'task:cancelled', ...(cancelReason === undefined ? {} : { reason: cancelReason }) };
  }
}
