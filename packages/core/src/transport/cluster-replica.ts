import type { JournalRecord } from '../journal/journal-record.js';
import { applyRecord, createTaskTable, type TaskTable } from '../journal/reducer.js';
import { recordToEvents } from '../events/record-events.js';
import type { RuntimeEvent } from '../events/events.js';
import { EngineEvents } from '../engine/engine-events.js';
import { outcomeOf } from '../engine/settlement.js';
import { TaskNotFoundError } from '../model/errors.js';
import { isRetryable, isTerminal, type TaskOutcome, type TerminalStatus } from '../model/types.js';
import type { TaskRecord } from '../model/task-record.js';
import { EndedTasks, type RetentionPolicy } from '../journal/ended-tasks.js';

const NONE: readonly TaskRecord[] = [];

/** The records of durable waits: they may park a task, or put it back in the queue. */
const WAIT_RECORDS = new Set<JournalRecord['type']>(['task:suspended', 'task:signalled', 'task:woken']);

/** 1 for a status that counts against `maxQueue` (as on one machine: queued, retrying, waiting), else 0. */
function isPending(status: TaskRecord['status'] | undefined): number {
  return status === 'queued' || status === 'retrying' || status === 'waiting' ? 1 : 0;
}

/** Records that end or start an attempt: ignored for a task that has already ended (a cancel won the race). */
const AFTER_END_IGNORED = new Set<JournalRecord['type']>(['attempt:started', 'attempt:ended', 'attempt:interrupted', 'task:cancelled', 'attempt:process']);

/**
 * This node's copy of the cluster's task table: every record of the shared journal
 * folded with the same reducer as a local journal, and the same events derived from
 * each record as it is applied. What `rt.get`, `rt.list`, handles and `rt.events$`
 * read in cluster mode, on every node alike.
 */
export class ClusterReplica {
  readonly table: TaskTable;
  readonly #events = new EngineEvents();
  readonly events$ = this.#events.events$;
  readonly #waiters = new Map<string, Array<{ resolve: (outcome: TaskOutcome) => void; reject: (error: Error) => void }>>();
  #onReady: ((task: TaskRecord) => void) | undefined;
  #onTimedWait: ((task: TaskRecord) => void) | undefined;
  #onSchedule: ((scheduleId: string) => void) | undefined;
  #onEnded: ((task: TaskRecord) => void) | undefined;
  #onWorkflow: ((workflowId: string) => void) | undefined;
  /** Records this node applied ahead of the store (applyOwn), skipped when they come back. */
  readonly #own = new WeakSet<JournalRecord>();
  #pending = 0;
  /** Claims of tasks whose submission has not been applied here yet, by task id. */
  readonly #arrivals = new Map<string, () => void>();

  readonly #retention: RetentionPolicy;
  readonly #ended = new EndedTasks();
  /** The newest record time seen: "now" for retention, the same on every replica at the same place in the journal. */
  #now = 0;

  constructor(agingMs: number, retention: RetentionPolicy) {
    this.table = createTaskTable(agingMs);
    this.#retention = retention;
  }

  /** Records of the shared journal, in its order (a record this node applied ahead with `applyOwn` is not applied again). */
  apply(records: readonly JournalRecord[]): void {
    for (const record of records) {
      if (this.#own.has(record)) this.#own.delete(record);
      else this.#applyOne(record);
    }
  }

  /**
   * Records of this node, applied now, before the store has them (the node's services
   * read the table right after they commit): when they come back through the journal,
   * the same objects, they are skipped.
   */
  applyOwn(records: readonly JournalRecord[]): void {
    for (const record of records) {
      this.#applyOne(record);
      this.#own.add(record);
    }
  }

  #applyOne(record: JournalRecord): void {
    if (AFTER_END_IGNORED.has(record.type) && 'taskId' in record && record.taskId !== undefined) {
      const task = this.table.tasks.get(record.taskId);
      if (task !== undefined && isTerminal(task.status)) return;
    }
    if (record.type === 'task:submitted' && this.table.tasks.has(record.task.id)) return; // appended twice (a resubmit after a lost answer)
    // Two nodes retrying one task at once: the first record in the journal queues it, the other finds it queued.
    if (record.type === 'task:retried' && !isRetryable(this.table.tasks.get(record.taskId)?.status)) return;
    // The first stored completion of a step is the one: a later one (two claims of one
    // task at once, after a live node was taken for dead) never replaces the result.
    if (record.type === 'step:completed' && Object.hasOwn(this.table.tasks.get(record.taskId)?.steps ?? {}, record.name)) return;
    // The status of the record's task before it (a submission's task is new).
    const own = record.type !== 'task:submitted' && 'taskId' in record ? record.taskId : undefined;
    const before = own === undefined ? undefined : this.table.tasks.get(own)?.status;
    const task = applyRecord(this.table, record);
    if (task !== undefined) this.#pending += isPending(task.status) - isPending(before);
    // Other tasks the record moved: dependents it made ready, or failed with it.
    const changed = this.table.changed.length === 0 ? NONE : this.table.changed.splice(0);
    if (record.type === 'task:submitted' && this.#arrivals.size > 0) this.#arrivals.get(record.task.id)?.();
    if (this.#events.observed) for (const event of recordToEvents(record, this.table, changed)) this.#events.emit(event);
    if (task !== undefined) {
      this.#settle(task, before);
      if (WAIT_RECORDS.has(record.type)) {
        // A durable wait that is over (a signal, a kept signal, a wake-up): back to the claim queue.
        if (task.status === 'queued' && before !== 'queued') this.#onReady?.(task);
        else if (record.type === 'task:suspended' && task.waitingFor?.until != null) this.#onTimedWait?.(task);
      }
    }
    for (const other of changed) {
      this.#pending += isPending(other.status) - 1; // each was waiting for its dependencies
      this.#settle(other, 'waiting');
      if (other.status === 'queued') this.#onReady?.(other);
    }
    if ('scheduleId' in record && record.type.startsWith('schedule:')) this.#onSchedule?.(record.scheduleId);
    if (this.#onWorkflow !== undefined) {
      for (const moved of task === undefined ? changed : [task, ...changed]) if (moved.workflowId !== undefined) this.#onWorkflow(moved.workflowId);
      // A start or a cancel may move a workflow without moving a task (a start refused at its first task).
      if (record.type === 'workflow:started' || record.type === 'workflow:cancelled') this.#onWorkflow(record.workflowId);
    }
    // Ended tasks past their retention are forgotten, as a local journal's compaction does.
    if (record.at > this.#now) this.#now = record.at;
    this.#ended.drop(this.table, this.#now, this.#retention);
  }

  /** Tasks queued, retrying or waiting in the cluster: what `maxQueue` bounds. */
  get pending(): number {
    return this.#pending;
  }

  /** Called with each task a record has let run (its dependencies ended, its wait is over): it must be put in the claim queue. */
  onReady(listener: (task: TaskRecord) => void): void {
    this.#onReady = listener;
  }

  /** Called with each task that has just parked itself on a wait with an end (a sleep, a signal with a timeout). */
  onTimedWait(listener: (task: TaskRecord) => void): void {
    this.#onTimedWait = listener;
  }

  /** Called with the workflow of each workflow task a record moved, and of each workflow started or cancelled. */
  onWorkflow(listener: (workflowId: string) => void): void {
    this.#onWorkflow = listener;
  }

  /** Called with each task that has just ended. */
  onEnded(listener: (task: TaskRecord) => void): void {
    this.#onEnded = listener;
  }

  /** Called with the schedule of each schedule record applied. */
  onSchedule(listener: (scheduleId: string) => void): void {
    this.#onSchedule = listener;
  }

  /** A task that has just ended (it was `before`): its waiters are answered, and retention counts from now. */
  #settle(task: TaskRecord, before: TaskRecord['status'] | undefined): void {
    if (!isTerminal(task.status)) return;
    if (before === undefined || !isTerminal(before)) {
      this.#ended.push(task.id);
      this.#onEnded?.(task);
    }
    const waiters = this.#waiters.get(task.id);
    if (waiters === undefined) return;
    this.#waiters.delete(task.id);
    const outcome = outcomeOf(task, task.status as TerminalStatus);
    for (const waiter of waiters) waiter.resolve(outcome);
  }

  /**
   * Resolves once the submission of task `id` has been applied here (at once if it has);
   * `forget` gives up the wait. A claim can come in before its task's record does.
   */
  arrival(id: string): { readonly arrived: Promise<void>; forget(): void } {
    if (this.table.tasks.has(id)) return { arrived: Promise.resolve(), forget: () => undefined };
    const arrived = new Promise<void>((resolve) => this.#arrivals.set(id, resolve));
    return { arrived, forget: () => this.#arrivals.delete(id) };
  }

  /** A running task's progress, as the node that runs it told it: on its snapshot and as an event. */
  progress(taskId: string, percent: number, message: string | undefined, at: number): void {
    const task = this.table.tasks.get(taskId);
    if (task?.status !== 'running') return;
    task.progress = message === undefined ? { percent } : { percent, message };
    this.#events.emit(message === undefined ? { type: 'task:progress', taskId, percent, at } : { type: 'task:progress', taskId, percent, message, at });
  }

  /** Tells events the replica does not derive from records (the output of tasks running on this node). */
  emit(event: RuntimeEvent): void {
    this.#events.emit(event);
  }

  /** Resolves with the task's outcome once a record ends it. */
  outcome(id: string): Promise<TaskOutcome> {
    const task = this.table.tasks.get(id);
    if (task === undefined) return Promise.reject(new TaskNotFoundError(id));
    if (isTerminal(task.status)) return Promise.resolve(outcomeOf(task, task.status as TerminalStatus));
    return new Promise((resolve, reject) => {
      const list = this.#waiters.get(id);
      if (list === undefined) this.#waiters.set(id, [{ resolve, reject }]);
      else list.push({ resolve, reject });
    });
  }

  /** Ends the event stream; outcomes still awaited are rejected with `error(id)`. */
  close(error: (id: string) => Error): void {
    for (const [id, waiters] of this.#waiters) for (const waiter of waiters) waiter.reject(error(id));
    this.#waiters.clear();
    this.#events.complete();
  }
}
