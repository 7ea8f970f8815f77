import { BATCH_INTERRUPTION, type JournalRecord, type WorkflowPhaseSpec, type WorkflowTaskSpec } from './journal-record.js';
import { rankOf } from '../scheduling/ready-queue.js';
import type { TaskRecord } from '../model/task-record.js';
import type { TaskResources } from '../model/types.js';
import { taskError } from '../model/task-error.js';
import { applyScheduleRecord, isScheduleRecord, type ScheduleState } from '../schedules/schedule-state.js';
import { applyWaitRecord, isWaitRecord } from './wait-fold.js';
import { addUsage } from './usage-fold.js';

/** A workflow as the journal rebuilds it: its spec and the ids of its submitted tasks. */
export interface WorkflowRecord {
  readonly id: string;
  readonly name: string;
  readonly createdAt: number;
  readonly metadata: Record<string, unknown> | undefined;
  readonly webhook: { url: string; secret: string } | undefined;
  readonly phases: WorkflowPhaseSpec[];
  readonly tasks: WorkflowTaskSpec[];
  /** Runtime task id of each workflow task submitted so far, by workflow task id. */
  readonly taskIds: Map<string, string>;
  startedAt: number | undefined;
  cancelledAt: number | undefined;
}

/** One webhook delivery: the outbox entry and every attempt made. */
export interface WebhookDelivery {
  readonly id: string;
  readonly taskId: string | undefined;
  readonly workflowId: string | undefined;
  readonly url: string;
  readonly secret: string;
  readonly payload: unknown;
  readonly createdAt: number;
  state: 'pending' | 'delivered' | 'failed';
  nextAt: number | undefined;
  readonly attempts: Array<{ attempt: number; at: number; ok: boolean; status?: number; error?: string }>;
}

/** The state the journal folds into: every task this runtime knows. */
export interface TaskTable {
  readonly deliveries: Map<string, WebhookDelivery>;
  /** Delivery ids by the task or workflow they report on. */
  readonly deliveriesByOwner: Map<string, string[]>;
  readonly workflows: Map<string, WorkflowRecord>;
  readonly schedules: Map<string, ScheduleState>;
  readonly tasks: Map<string, TaskRecord>;
  readonly byIdempotencyKey: Map<string, string>;
  /** Tasks waiting on each task, by the id they wait on. */
  readonly dependents: Map<string, string[]>;
  /**
   * Tasks other than the record's own whose status the last record changed (a
   * dependency ended: they are queued, or failed in cascade). The engine drains it.
   */
  readonly changed: TaskRecord[];
  /** Tasks in `waiting`. */
  waiting: number;
  /** Submission order of the next task. */
  nextOrder: number;
  readonly agingMs: number;
}

/** An empty table. */
export function createTaskTable(agingMs: number): TaskTable {
  return { deliveries: new Map(), deliveriesByOwner: new Map(), workflows: new Map(), schedules: new Map(), tasks: new Map(), byIdempotencyKey: new Map(), dependents: new Map(), changed: [], waiting: 0, nextOrder: 1, agingMs };
}

function queue(task: TaskRecord, at: number, agingMs: number, table?: TaskTable): void {
  if (task.status === 'waiting' && table !== undefined) table.waiting--;
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
  if (isWorkflowRecord(record)) {
    applyWorkflowRecord(table, record);
    return undefined;
  }
  if (isScheduleRecord(record)) {
    applyScheduleRecord(table.schedules, record);
    return undefined;
  }
  if (record.type === 'webhook:enqueued' || record.type === 'webhook:attempted') {
    applyWebhookRecord(table, record);
    return undefined;
  }
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
      onDependencyFailure: t.onDependencyFailure ?? 'fail',
      workflowId: t.workflowId,
      workflowTaskId: t.workflowTaskId,
      locks: t.locks ?? [],
      rateLimit: t.rateLimit,
      lockTimeoutMs: t.lockTimeoutMs,
      webhook: t.webhook,
      concurrencyKey: t.concurrencyKey,
      budget: t.budget,
      pendingDeps: 0,
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
      crashes: 0,
      lockWaits: 0,
      lockWaitMs: 0,
      rateLimitWaits: 0,
    };
    table.tasks.set(task.id, task);
    if (t.workflowId !== undefined && t.workflowTaskId !== undefined) table.workflows.get(t.workflowId)?.taskIds.set(t.workflowTaskId, t.id);
    waitForDependencies(table, task, record.at);
    if (t.idempotencyKey !== undefined) table.byIdempotencyKey.set(t.idempotencyKey, t.id);
    if (t.order >= table.nextOrder) table.nextOrder = t.order + 1;
    return task;
  }
  const task = table.tasks.get(record.taskId);
  if (task === undefined) return undefined;
  if (isWaitRecord(record) || record.type === 'task:cancelled' || record.type === 'task:retried') applyWaitRecord(table, task, record, (t, at) => queue(t, at, table.agingMs, table));
  if (record.type === 'usage:recorded') addUsage(task, record.bucket, record.units);
  switch (record.type) {
    case 'attempt:started':
      if (record.lockWaitMs !== undefined) {
        task.lockWaits++;
        task.lockWaitMs += record.lockWaitMs;
      }
      if (record.rateLimited === true) task.rateLimitWaits++;
      task.status = 'running';
      task.attempts = record.attempt;
      task.startedAt = record.at;
      task.endedAt = undefined;
      task.progress = undefined;
      if (record.node !== undefined) task.node = record.node;
      break;
    case 'attempt:ended':
      if (record.counts !== false) task.budgetUsed++;
      if (record.crashed === true) task.crashes++;
      if (record.resources !== undefined) addResources(task, record.resources);
      if (record.retryAt !== undefined) {
        task.status = 'retrying';
        task.retryAt = record.retryAt;
        task.error = record.error;
        break;
      }
      task.status = record.end;
      task.endedAt = record.at;
      forgetProcessGroups(task);
      task.result = record.result;
      task.error = record.error;
      task.cancelReason = record.reason;
      settleDependents(table, task, record.at);
      break;
    case 'attempt:interrupted':
      if (record.reason !== BATCH_INTERRUPTION) task.interruptions++; // only host crashes and shutdowns count
      task.progress = undefined;
      if (record.counts === true) task.budgetUsed++;
      if (record.error !== undefined) {
        task.status = 'failed';
        task.endedAt = record.at;
        forgetProcessGroups(task);
        task.error = record.error;
        settleDependents(table, task, record.at);
        break;
      }
      queue(task, record.at, table.agingMs);
      break;
    case 'attempt:process':
      // Kept until the task ends: recovery stops whichever of them still runs.
      if (task.status === 'running' || task.status === 'queued' || task.status === 'retrying') {
        task.processGroups = [...(task.processGroups ?? []), { attempt: record.attempt, kind: record.kind, group: record.group }];
      }
      break;
    case 'step:completed':
      task.steps = { ...task.steps, [record.name]: record.result };
      break;
    case 'task:requeued':
      queue(task, record.at, table.agingMs);
      break;
    case 'task:rejected':
      if (task.status === 'waiting') table.waiting--;
      task.status = 'failed';
      task.endedAt = record.at;
      forgetProcessGroups(task);
      task.error = record.error;
      settleDependents(table, task, record.at);
      break;
    case 'task:cancelled':
      if (task.status === 'waiting') table.waiting--;
      task.status = 'cancelled';
      task.endedAt = record.at;
      forgetProcessGroups(task);
      task.retryAt = undefined;
      task.cancelReason = record.reason;
      task.error = taskError('STEWARD_CANCELLED', record.reason ?? 'cancelled', false);
      settleDependents(table, task, record.at);
      break;
    case 'task:retried':
      task.budgetUsed = 0;
      task.interruptions = 0;
      task.endedAt = undefined;
      task.result = undefined;
      task.error = undefined;
      task.progress = undefined;
      task.cancelReason = undefined;
      // Its dependencies are looked at again: a task failed by one waits for it anew.
      waitForDependencies(table, task, record.at, true);
      break;
  }
  return task;
}

/** Adds an attempt's usage to its task's: CPU time summed, peak memory the highest. */
function addResources(task: TaskRecord, usage: TaskResources): void {
  const cpuMs = (task.resources?.cpuMs ?? 0) + usage.cpuMs;
  const peaks = [task.resources?.maxRssMb, usage.maxRssMb].filter((mb): mb is number => mb !== undefined);
  task.resources = peaks.length === 0 ? { cpuMs } : { cpuMs, maxRssMb: Math.max(...peaks) };
}

/**
 * The task has ended: its executor stopped its groups, and recovery has nothing of
 * it to stop. (Left alone when unset, so ended records do not grow a field.)
 */
function forgetProcessGroups(task: TaskRecord): void {
  if (task.processGroups != null) task.processGroups = undefined;
}

function dependencyError(dependency: TaskRecord): ReturnType<typeof taskError> {
  return taskError('STEWARD_DEPENDENCY_FAILED', `dependency ${dependency.id} (${dependency.type}) ended ${dependency.status}`, false);
}

/**
 * Puts a new (or retried) task where its dependencies say: queued when all have
 * completed (or it runs whatever they did), failed when one failed and it does not,
 * else waiting, registered with each dependency still to end. A dependency the
 * table no longer knows (retention dropped it) counts as completed. A retried task
 * may still be listed with a dependency from before it ended (it was cancelled while
 * it waited): it is not listed twice, or that dependency's end would count twice and
 * the task would run before its other dependencies have ended.
 */
function waitForDependencies(table: TaskTable, task: TaskRecord, at: number, retried = false): void {
  let pending = 0;
  for (const id of task.dependsOn) {
    const dependency = table.tasks.get(id);
    if (dependency === undefined || dependency.status === 'completed') continue;
    if (dependency.status === 'failed' || dependency.status === 'cancelled' || dependency.status === 'timed_out') {
      if (task.onDependencyFailure === 'run') continue;
      // The record's own task: whoever applied the record looks at its status.
      if (task.status === 'waiting') table.waiting--;
      task.status = 'failed';
      task.endedAt = at;
      task.error = dependencyError(dependency);
      return;
    }
    pending++;
    const list = table.dependents.get(id);
    if (list === undefined) table.dependents.set(id, [task.id]);
    else if (!retried || !list.includes(task.id)) list.push(task.id);
  }
  task.pendingDeps = pending;
  if (pending === 0) {
    queue(task, at, table.agingMs, table);
    return;
  }
  if (task.status !== 'waiting') table.waiting++;
  task.status = 'waiting';
  task.enqueuedAt = at;
}

/** A task ended: the tasks waiting on it move on (queued, or failed in cascade). */
function settleDependents(table: TaskTable, ended: TaskRecord, at: number): void {
  const ids = table.dependents.get(ended.id);
  if (ids === undefined) return;
  table.dependents.delete(ended.id);
  for (const id of ids) {
    const task = table.tasks.get(id);
    if (task === undefined || task.status !== 'waiting' || task.waitingFor != null) continue;
    if (ended.status === 'completed' || task.onDependencyFailure === 'run') {
      task.pendingDeps--;
      if (task.pendingDeps <= 0) {
        queue(task, at, table.agingMs, table);
        table.changed.push(task);
      }
      continue;
    }
    table.waiting--;
    task.status = 'failed';
    task.endedAt = at;
    task.error = dependencyError(ended);
    table.changed.push(task);
    settleDependents(table, task, at);
  }
}
type WorkflowJournalRecord = Extract<JournalRecord, { type: `workflow:${string}` }>;

/** Folds the outbox: an enqueued delivery, then each attempt's result. */
function applyWebhookRecord(table: TaskTable, record: Extract<JournalRecord, { type: `webhook:${string}` }>): void {
  if (record.type === 'webhook:enqueued') {
    table.deliveries.set(record.deliveryId, {
      id: record.deliveryId,
      taskId: record.taskId,
      workflowId: record.workflowId,
      url: record.url,
      secret: record.secret,
      payload: record.payload,
      createdAt: record.at,
      state: 'pending',
      nextAt: record.at,
      attempts: [],
    });
    const owner = record.taskId ?? record.workflowId;
    if (owner !== undefined) {
      const list = table.deliveriesByOwner.get(owner);
      if (list === undefined) table.deliveriesByOwner.set(owner, [record.deliveryId]);
      else list.push(record.deliveryId);
    }
    return;
  }
  const delivery = table.deliveries.get(record.deliveryId);
  if (delivery === undefined) return;
  delivery.attempts.push({
    attempt: record.attempt,
    at: record.at,
    ok: record.ok,
    ...(record.status === undefined ? {} : { status: record.status }),
    ...(record.error === undefined ? {} : { error: record.error }),
  });
  delivery.nextAt = record.nextAt;
  if (record.final) delivery.state = record.ok ? 'delivered' : 'failed';
}

function isWorkflowRecord(record: JournalRecord): record is WorkflowJournalRecord {
  return record.type.startsWith('workflow:');
}

/** Folds a workflow record: the spec grows until start; state after that comes from its tasks. */
function applyWorkflowRecord(table: TaskTable, record: WorkflowJournalRecord): void {
  switch (record.type) {
    case 'workflow:created':
      table.workflows.set(record.workflowId, {
        id: record.workflowId,
        name: record.name,
        createdAt: record.at,
        metadata: record.metadata,
        webhook: record.webhook,
        phases: [],
        tasks: [],
        taskIds: new Map(),
        startedAt: undefined,
        cancelledAt: undefined,
      });
      return;
    case 'workflow:phase-added':
      table.workflows.get(record.workflowId)?.phases.push({ id: record.phase.id, dependsOn: [...record.phase.dependsOn] });
      return;
    case 'workflow:task-added':
      table.workflows.get(record.workflowId)?.tasks.push({ ...record.task });
      return;
    case 'workflow:started': {
      const workflow = table.workflows.get(record.workflowId);
      if (workflow !== undefined) workflow.startedAt = record.at;
      return;
    }
    case 'workflow:cancelled': {
      const workflow = table.workflows.get(record.workflowId);
      if (workflow !== undefined) workflow.cancelledAt = record.at;
      return;
    }
    default:
      return;
  }
}
