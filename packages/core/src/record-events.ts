import type { RuntimeEvent } from './events.js';
import type { JournalRecord } from './journal-record.js';
import type { TaskTable } from './reducer.js';
import { taskError } from './task-error.js';

/**
 * The events a journal record stands for, for consumers that resume from a journal
 * sequence number (Server-Sent Events). What is not journaled (progress, output)
 * cannot be replayed; everything that changes a task's or a workflow's state is.
 */
export function recordToEvents(record: JournalRecord, table: TaskTable): RuntimeEvent[] {
  const at = record.at;
  switch (record.type) {
    case 'task:submitted': {
      const t = record.task;
      const events: RuntimeEvent[] = [{ type: 'task:submitted', taskId: t.id, taskType: t.type, priority: t.priority, at }];
      if (t.dependsOn.length === 0) events.push({ type: 'task:queued', taskId: t.id, priority: t.priority, at });
      return events;
    }
    case 'attempt:started':
      return [{ type: 'task:started', taskId: record.taskId, attempt: record.attempt, taskType: table.tasks.get(record.taskId)?.type ?? '', at }];
    case 'attempt:ended': {
      const base = { taskId: record.taskId, at, attempts: record.attempt };
      const error = record.error ?? taskError('STEWARD_HANDLER_ERROR', 'failed', false);
      if (record.retryAt !== undefined) return [{ type: 'task:retrying', taskId: record.taskId, attempt: record.attempt, delayMs: record.retryAt - at, error, at }];
      if (record.end === 'completed') return [{ ...base, type: 'task:completed', result: record.result, durationMs: 0 }];
      if (record.end === 'failed') return [{ ...base, type: 'task:failed', error }];
      if (record.end === 'timed_out') return [{ ...base, type: 'task:timed_out', error }];
      return [{ ...base, type: 'task:cancelled', ...(record.reason === undefined ? {} : { reason: record.reason }) }];
    }
    case 'task:cancelled':
      return [{ type: 'task:cancelled', taskId: record.taskId, attempts: table.tasks.get(record.taskId)?.attempts ?? 0, at, ...(record.reason === undefined ? {} : { reason: record.reason }) }];
    case 'task:rejected':
      return [{ type: 'task:failed', taskId: record.taskId, error: record.error, attempts: 0, at }];
    case 'attempt:interrupted':
      return [{ type: 'attempt:interrupted', taskId: record.taskId, attempt: record.attempt, reason: record.reason, at }];
    case 'task:requeued':
    case 'task:retried':
      return [{ type: 'task:queued', taskId: record.taskId, priority: table.tasks.get(record.taskId)?.priority ?? 0, at }];
    case 'step:completed':
      return [{ type: 'task:step', taskId: record.taskId, name: record.name, at }];
    case 'workflow:started':
      return [{ type: 'workflow:started', workflowId: record.workflowId, name: table.workflows.get(record.workflowId)?.name ?? '', at }];
    case 'workflow:cancelled':
      return [{ type: 'workflow:cancelled', workflowId: record.workflowId, at, ...(record.reason === undefined ? {} : { reason: record.reason }) }];
    case 'webhook:attempted': {
      const delivery = table.deliveries.get(record.deliveryId);
      const owner = { taskId: delivery?.taskId, workflowId: delivery?.workflowId };
      return record.ok
        ? [{ type: 'webhook:delivered', ...owner, deliveryId: record.deliveryId, attempt: record.attempt, status: record.status ?? 0, at }]
        : [{ type: 'webhook:failed', ...owner, deliveryId: record.deliveryId, attempt: record.attempt, final: record.final, error: record.error ?? '', at }];
    }
    default:
      return [];
  }
}
