import { dependencyResults } from '../engine/settlement.js';
import type { TaskTable } from '../journal/reducer.js';
import type { TaskRecord } from '../model/task-record.js';
import type { ClaimedTask } from './transport.js';

/** A task of the cluster's record as a node's engine is handed it: what it is, and what it did before (steps, waits). */
export function claimedTask(task: Readonly<TaskRecord>, table: TaskTable): ClaimedTask {
  return {
    id: task.id,
    type: task.type,
    input: task.input,
    options: {
      priority: task.priority,
      ...(task.timeoutMs === undefined ? {} : { timeoutMs: task.timeoutMs }),
      ...(task.retries === undefined ? {} : { retries: task.retries }),
      ...(task.metadata === undefined ? {} : { metadata: task.metadata }),
      ...(task.concurrencyKey === undefined ? {} : { concurrencyKey: task.concurrencyKey }),
      ...(task.locks.length === 0 ? {} : { locks: [...task.locks] }),
      ...(task.rateLimit === undefined ? {} : { rateLimit: task.rateLimit }),
      ...(task.lockTimeoutMs === undefined ? {} : { lockTimeoutMs: task.lockTimeoutMs }),
      ...(task.budget === undefined ? {} : { budget: task.budget }),
    },
    steps: task.steps ?? {},
    ...(task.waits == null ? {} : { waits: task.waits }),
    ...(task.signals == null ? {} : { signals: task.signals }),
    ...(task.usage == null ? {} : { usage: task.usage }),
    ...(task.dependsOn.length === 0 ? {} : { dependencies: dependencyResults(table, task as TaskRecord) }),
  };
}
