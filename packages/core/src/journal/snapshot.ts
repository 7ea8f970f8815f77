import { describeValue, StoreCorruptError, StoreVersionError } from '../model/errors.js';
import type { TaskTable, WebhookDelivery, WorkflowRecord } from './reducer.js';
import { rankOf } from '../scheduling/ready-queue.js';
import type { TaskRecord } from '../model/task-record.js';
import { copySchedule, restoreSchedule, type ScheduleState } from '../schedules/schedule-state.js';

/** Version of the snapshot format. */
export const SNAPSHOT_VERSION = 1 as const;

/** A task as a snapshot keeps it: the record without its queue bookkeeping. */
export type SnapshotTask = Omit<TaskRecord, 'ticket' | 'rank'>;

/** What a snapshot stores: the whole task table at one sequence number. */
export interface TableSnapshot {
  v: typeof SNAPSHOT_VERSION;
  nextOrder: number;
  tasks: SnapshotTask[];
  workflows?: Array<Omit<WorkflowRecord, 'taskIds'> & { taskIds: Array<[string, string]> }>;
  deliveries?: WebhookDelivery[];
  /** Absent from snapshots written before schedules. */
  schedules?: ScheduleState[];
  /**
   * The waiting tasks listed with each dependency they still count. Not always every
   * dependency still to end: a task that runs whatever its dependencies do has counted
   * one that failed, and does not count it again if that one is retried. Absent from
   * older snapshots, which rebuild the lists from the dependencies still to end.
   */
  dependents?: Array<[string, string[]]>;
}

/**
 * Copies the table into plain data, synchronously: the copy is what the state was
 * at this instant, whatever the runtime does while the snapshot is being written.
 */
export function snapshotOf(table: TaskTable): TableSnapshot {
  const tasks: SnapshotTask[] = [];
  for (const task of table.tasks.values()) {
    const { ticket: _ticket, rank: _rank, ...rest } = task;
    tasks.push(rest);
  }
  const workflows = [...table.workflows.values()].map((w) => ({
    ...w,
    phases: w.phases.map((p) => ({ ...p, dependsOn: [...p.dependsOn] })),
    tasks: [...w.tasks],
    taskIds: [...w.taskIds.entries()],
  }));
  const deliveries = [...table.deliveries.values()].map((d) => ({ ...d, attempts: [...d.attempts] }));
  const dependents: Array<[string, string[]]> = [];
  for (const [id, ids] of table.dependents) {
    const waiting = ids.filter((t) => table.tasks.get(t)?.status === 'waiting');
    if (waiting.length > 0) dependents.push([id, waiting]);
  }
  const schedules = [...table.schedules.values()].map(copySchedule);
  return { v: SNAPSHOT_VERSION, nextOrder: table.nextOrder, tasks, workflows, deliveries, dependents, schedules };
}

/** Loads a snapshot into an empty table. */
export function restoreInto(table: TaskTable, snapshot: TableSnapshot): void {
  const v = (snapshot as { v?: unknown } | undefined)?.v;
  if (typeof v === 'number' && v > SNAPSHOT_VERSION) {
    throw new StoreVersionError(`the journal's snapshot has format ${v}, newer than format ${SNAPSHOT_VERSION} that this version of Steward reads; upgrade Steward to open it`);
  }
  if (v !== SNAPSHOT_VERSION || !Array.isArray(snapshot.tasks)) {
    throw new StoreCorruptError(`the journal's snapshot is not one Steward wrote (format ${describeValue(v)}, expected ${SNAPSHOT_VERSION}); restore a backup of the data directory`);
  }
  const agingMs = table.agingMs;
  table.nextOrder = snapshot.nextOrder;
  for (const saved of snapshot.deliveries ?? []) {
    table.deliveries.set(saved.id, { ...saved, taskId: saved.taskId ?? undefined, workflowId: saved.workflowId ?? undefined, nextAt: saved.nextAt ?? undefined });
    const owner = saved.taskId ?? saved.workflowId;
    if (owner !== undefined && owner !== null) {
      const list = table.deliveriesByOwner.get(owner);
      if (list === undefined) table.deliveriesByOwner.set(owner, [saved.id]);
      else list.push(saved.id);
    }
  }
  for (const saved of snapshot.schedules ?? []) table.schedules.set(saved.id, restoreSchedule(saved));
  for (const saved of snapshot.workflows ?? []) {
    table.workflows.set(saved.id, {
      ...saved,
      metadata: saved.metadata ?? undefined,
      webhook: saved.webhook ?? undefined,
      startedAt: saved.startedAt ?? undefined,
      cancelledAt: saved.cancelledAt ?? undefined,
      taskIds: new Map(saved.taskIds),
    });
  }
  for (const saved of snapshot.tasks) {
    const task: TaskRecord = {
      ...saved,
      ticket: 0,
      rank: rankOf(saved.priority, saved.enqueuedAt, agingMs),
      dependsOn: saved.dependsOn ?? [],
      onDependencyFailure: saved.onDependencyFailure ?? 'fail',
      workflowId: saved.workflowId ?? undefined,
      workflowTaskId: saved.workflowTaskId ?? undefined,
      pendingDeps: saved.pendingDeps ?? 0,
      locks: saved.locks ?? [],
      rateLimit: saved.rateLimit ?? undefined,
      lockTimeoutMs: saved.lockTimeoutMs ?? undefined,
      crashes: saved.crashes ?? 0,
      lockWaits: saved.lockWaits ?? 0,
      lockWaitMs: saved.lockWaitMs ?? 0,
      rateLimitWaits: saved.rateLimitWaits ?? 0,
      webhook: saved.webhook ?? undefined,
      concurrencyKey: saved.concurrencyKey ?? undefined,
      budget: saved.budget ?? undefined,
      usage: saved.usage ?? undefined,
    };
    table.tasks.set(task.id, task);
    if (task.idempotencyKey !== undefined && task.idempotencyKey !== null) table.byIdempotencyKey.set(task.idempotencyKey, task.id);
  }
  for (const task of table.tasks.values()) if (task.status === 'waiting') table.waiting++;
  if (Array.isArray(snapshot.dependents)) {
    for (const [id, ids] of snapshot.dependents) table.dependents.set(id, [...ids]);
    return;
  }
  // An older snapshot: the dependency index is rebuilt from the waiting tasks.
  for (const task of table.tasks.values()) {
    if (task.status !== 'waiting') continue;
    for (const id of task.dependsOn) {
      const dependency = table.tasks.get(id);
      if (dependency === undefined || dependency.status === 'completed' || dependency.status === 'failed' || dependency.status === 'cancelled' || dependency.status === 'timed_out') continue;
      const list = table.dependents.get(id);
      if (list === undefined) table.dependents.set(id, [task.id]);
      else list.push(task.id);
    }
  }
}
