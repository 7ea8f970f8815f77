import type { RuntimeEvent } from './events.js';
import type { JournalRecord } from '../journal/journal-record.js';
import type { TaskTable } from '../journal/reducer.js';
import { outcomeOf, terminalEvent } from '../engine/settlement.js';
import { taskError } from '../model/task-error.js';
import type { TaskRecord } from '../model/task-record.js';
import { isTerminal, type TerminalStatus } from '../model/types.js';
import { type WorkflowHost, Workflows } from '../workflows/workflows.js';

/** How far each workflow a record may move had got before it: phases started and completed, ended. */
export type WorkflowMarks = Map<string, { started: Set<string>; completed: Set<string>; ended: boolean }>;

const NO_MARKS: WorkflowMarks = new Map();
const views = new WeakMap<TaskTable, Workflows>();

/** The workflow status computation over `table` alone (no host needed to read). */
function workflowView(table: TaskTable): Workflows {
  let view = views.get(table);
  if (view === undefined) {
    view = new Workflows({ table } as WorkflowHost);
    views.set(table, view);
  }
  return view;
}

/** The workflows whose status `record` can change: its own, and those of the tasks that wait on its task. */
function workflowsTouched(record: JournalRecord, table: TaskTable): string[] {
  if (table.workflows.size === 0) return [];
  const ids = new Set<string>();
  if ('workflowId' in record && typeof record.workflowId === 'string' && record.type.startsWith('workflow:')) ids.add(record.workflowId);
  const taskId = record.type === 'task:submitted' ? record.task.id : 'taskId' in record && !record.type.startsWith('webhook:') ? record.taskId : undefined;
  if (record.type === 'task:submitted' && record.task.workflowId !== undefined) ids.add(record.task.workflowId);
  if (taskId !== undefined) {
    const own = table.tasks.get(taskId)?.workflowId;
    if (own !== undefined) ids.add(own);
    for (const dependent of table.dependents.get(taskId) ?? []) {
      const workflowId = table.tasks.get(dependent)?.workflowId;
      if (workflowId !== undefined) ids.add(workflowId);
    }
  }
  return [...ids];
}

/**
 * Where the workflows `record` can move stand now, before it is applied: what
 * {@link recordToEvents} compares with afterwards to tell the phases it started and
 * completed and the workflow it ended. Empty (and free) when no workflow is involved.
 */
export function workflowMarks(record: JournalRecord, table: TaskTable): WorkflowMarks {
  const ids = workflowsTouched(record, table);
  if (ids.length === 0) return NO_MARKS;
  const marks: WorkflowMarks = new Map();
  for (const id of ids) if (table.workflows.has(id)) marks.set(id, marksOf(table, id));
  return marks;
}

function marksOf(table: TaskTable, workflowId: string): { started: Set<string>; completed: Set<string>; ended: boolean } {
  const status = workflowView(table).status(workflowId);
  const started = new Set<string>();
  const completed = new Set<string>();
  for (const phase of status.phases) {
    if (phase.status !== 'waiting' && phase.status !== 'pending') started.add(phase.id);
    if (phase.status === 'completed') completed.add(phase.id);
  }
  return { started, completed, ended: status.status === 'completed' || status.status === 'failed' || status.status === 'cancelled' };
}

/** The event that tells a task has ended, as the table has it now. */
function ended(task: TaskRecord, fallbackAt: number): RuntimeEvent {
  const at = task.endedAt ?? fallbackAt;
  const durationMs = task.startedAt === undefined ? undefined : at - task.startedAt;
  return terminalEvent(outcomeOf(task, task.status as TerminalStatus), at, durationMs, task.cancelReason);
}

/**
 * The events a journal record stands for: the one function both the live event feed
 * (right after the record is applied) and a replay from the journal (after applying
 * the same record to a table rebuilt from the journal) use, so a replayed event is
 * the live one. `table` is the state just after the record, `changed` the other tasks
 * the record moved (the table's `changed` list), `before` what {@link workflowMarks}
 * said before it. What is not journaled (progress, output, lock and rate waits,
 * supervisor and resource news) is not here.
 */
export function recordToEvents(record: JournalRecord, table: TaskTable, changed: readonly TaskRecord[] = [], before: WorkflowMarks = NO_MARKS): RuntimeEvent[] {
  const at = record.at;
  const events: RuntimeEvent[] = [];
  const taskNow = (id: string) => table.tasks.get(id);
  switch (record.type) {
    case 'task:submitted': {
      const t = record.task;
      events.push({ type: 'task:submitted', taskId: t.id, taskType: t.type, priority: t.priority, at });
      const task = taskNow(t.id);
      if (task?.status === 'queued') events.push({ type: 'task:queued', taskId: t.id, priority: task.priority, at });
      else if (task !== undefined && isTerminal(task.status)) events.push(ended(task, at));
      break;
    }
    case 'attempt:started': {
      const task = taskNow(record.taskId);
      if (task !== undefined && task.locks.length > 0) {
        events.push({ type: 'lock:acquired', taskId: record.taskId, locks: task.locks.map((l) => l.name), waitedMs: record.lockWaitMs ?? 0, at });
      }
      events.push({ type: 'task:started', taskId: record.taskId, attempt: record.attempt, taskType: task?.type ?? '', at });
      break;
    }
    case 'attempt:ended': {
      const task = taskNow(record.taskId);
      if (record.retryAt !== undefined) {
        const error = record.error ?? taskError('STEWARD_HANDLER_ERROR', 'failed', false);
        events.push({ type: 'task:retrying', taskId: record.taskId, attempt: record.attempt, delayMs: record.retryAt - at, error, at });
      } else if (task !== undefined && isTerminal(task.status)) events.push(ended(task, at));
      break;
    }
    case 'attempt:interrupted': {
      events.push({ type: 'attempt:interrupted', taskId: record.taskId, attempt: record.attempt, reason: record.reason, at });
      const task = taskNow(record.taskId);
      if (task !== undefined && isTerminal(task.status)) events.push(ended(task, at));
      break;
    }
    case 'task:cancelled':
    case 'task:rejected': {
      const task = taskNow(record.taskId);
      if (task !== undefined && isTerminal(task.status)) events.push(ended(task, at));
      break;
    }
    case 'task:requeued':
    case 'task:retried': {
      const task = taskNow(record.taskId);
      if (task?.status === 'queued') events.push({ type: 'task:queued', taskId: record.taskId, priority: task.priority, at });
      else if (task !== undefined && isTerminal(task.status)) events.push(ended(task, at));
      break;
    }
    case 'step:completed':
      events.push({ type: 'task:step', taskId: record.taskId, name: record.name, at });
      break;
    case 'task:suspended':
    case 'task:signalled':
    case 'task:woken': {
      // A wait begins (task:waiting) or a signal comes in (task:signalled); either may put the task back in the queue.
      if (record.type === 'task:suspended') events.push({ type: 'task:waiting', taskId: record.taskId, waitingFor: { ...record.waitingFor }, at });
      if (record.type === 'task:signalled') events.push({ type: 'task:signalled', taskId: record.taskId, name: record.name, at });
      const task = taskNow(record.taskId);
      if (task?.status === 'queued') events.push({ type: 'task:queued', taskId: record.taskId, priority: task.priority, at });
      break;
    }
    case 'workflow:started':
      events.push({ type: 'workflow:started', workflowId: record.workflowId, name: table.workflows.get(record.workflowId)?.name ?? '', at });
      break;
    case 'workflow:cancelled':
      events.push({ type: 'workflow:cancelled', workflowId: record.workflowId, at, ...(record.reason === undefined ? {} : { reason: record.reason }) });
      break;
    case 'schedule:fired':
      events.push({ type: 'schedule:fired', taskId: record.taskId, scheduleId: record.scheduleId, fireAt: record.fireAt, at });
      break;
    case 'webhook:attempted': {
      const delivery = table.deliveries.get(record.deliveryId);
      const owner = { ...(delivery?.taskId === undefined ? {} : { taskId: delivery.taskId }), ...(delivery?.workflowId === undefined ? {} : { workflowId: delivery.workflowId }) };
      events.push(
        record.ok
          ? { type: 'webhook:delivered', ...owner, deliveryId: record.deliveryId, attempt: record.attempt, status: record.status ?? 0, at }
          : { type: 'webhook:failed', ...owner, deliveryId: record.deliveryId, attempt: record.attempt, final: record.final, error: record.error ?? '', at },
      );
      break;
    }
    default:
      break;
  }
  // The tasks that waited on this one and moved with it: ready now, or failed by it.
  for (const task of changed) {
    if (task.status === 'queued') events.push({ type: 'task:queued', taskId: task.id, priority: task.priority, at });
    else if (isTerminal(task.status)) events.push(ended(task, at));
  }
  // What the workflows involved did: phases started and completed, the end.
  for (const [workflowId, was] of before) {
    if (!table.workflows.has(workflowId)) continue;
    const status = workflowView(table).status(workflowId);
    for (const phase of status.phases) {
      if (phase.status !== 'waiting' && phase.status !== 'pending' && !was.started.has(phase.id)) {
        events.push({ type: 'workflow:phase-started', workflowId, phaseId: phase.id, at });
      }
      if (phase.status === 'completed' && !was.completed.has(phase.id)) events.push({ type: 'workflow:phase-completed', workflowId, phaseId: phase.id, at });
    }
    if (was.ended) continue;
    const workflow = table.workflows.get(workflowId);
    if (status.status === 'completed') events.push({ type: 'workflow:completed', workflowId, durationMs: (status.endedAt ?? at) - (workflow?.startedAt ?? at), at });
    else if (status.status === 'failed') events.push({ type: 'workflow:failed', workflowId, failedTasks: status.failedTasks, at });
  }
  return events;
}
