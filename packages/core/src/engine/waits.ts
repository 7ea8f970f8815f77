import type { AppendReceipt } from '@steward/store';
import type { RuntimeEvent } from '../events/events.js';
import type { NewRecord } from '../journal/journal-record.js';
import type { TaskTable } from '../journal/reducer.js';
import { InvalidOptionsError, InvalidStateError, ShuttingDownError, TaskNotFoundError } from '../model/errors.js';
import type { ResolvedRuntimeOptions } from '../model/options.js';
import { checkJournalable, checkPayload } from '../model/payload.js';
import type { TaskRecord } from '../model/task-record.js';
import { isTerminal, type TaskStatus } from '../model/types.js';
import { checkWaitName } from '../model/waits.js';
import { TaskTimers } from '../scheduling/task-timers.js';
import type { Clock } from '../time/clock.js';

/** What the durable waits need from the engine around them. */
export interface WaitsHost {
  readonly options: ResolvedRuntimeOptions;
  readonly table: TaskTable;
  commit(record: NewRecord): { task: TaskRecord | undefined; receipt: AppendReceipt };
  emit(event: RuntimeEvent): void;
  /** The task is queued again: into the ready queue, told, and looked at. */
  requeue(task: TaskRecord): void;
  state(): 'running' | 'stopping' | 'stopped';
}

/** What `rt.signal` answers. */
export interface SignalReceipt {
  delivered: true;
  /** The task's status right after the signal: `queued` when it woke the task up. */
  taskStatus: TaskStatus;
}

/**
 * Durable waits (signals and sleeps): journals a suspension when a handler parks
 * itself, takes signals in (kept until a wait takes them), and keeps one timer per
 * wait with an end, which journals the wake-up when it is due. What is folded into
 * the table (waitingFor, kept signals, the results of waits) is the reducer's; this
 * only writes the records and acts on them.
 */
export class Waits {
  readonly #host: WaitsHost;
  readonly #clock: Clock;
  readonly #timers: TaskTimers;

  constructor(host: WaitsHost, wheel: Clock) {
    this.#host = host;
    this.#clock = host.options.clock;
    this.#timers = new TaskTimers(wheel);
  }

  /** Sends signal `name` with `payload` to a task; resolves once it is durable. */
  async signal(taskId: string, name: string, payload: unknown): Promise<SignalReceipt> {
    if (this.#host.state() === 'stopped') throw new ShuttingDownError('the runtime has shut down');
    const problem = checkWaitName(name);
    if (problem !== undefined) throw new InvalidOptionsError(`name ${problem}`);
    const task = typeof taskId === 'string' ? this.#host.table.tasks.get(taskId) : undefined;
    if (task === undefined) throw new TaskNotFoundError(taskId);
    if (isTerminal(task.status)) throw new InvalidStateError(`task "${taskId}" has ended (${task.status}); it takes no more signals`);
    const { options } = this.#host;
    checkPayload(payload, options.maxPayloadBytes, 'payload');
    if (options.dataDir !== undefined || options.store !== undefined) checkJournalable(payload, 'payload');
    const at = this.#clock.now();
    const record: NewRecord = payload === undefined ? { type: 'task:signalled', at, taskId, name } : { type: 'task:signalled', at, taskId, name, payload };
    const before = task.status;
    const { receipt } = this.#host.commit(record);
    this.#host.emit({ type: 'task:signalled', taskId, name, at });
    // Only a task this signal woke goes back to the queue: one already queued (or parked) stays where it is.
    if (before === 'waiting' && task.status === 'queued') this.#woken(task);
    const taskStatus = task.status;
    await receipt.durable;
    return { delivered: true, taskStatus };
  }

  /** An attempt parked itself: journals its suspension, then waits (or goes on at once when the signal is already in). */
  suspended(task: TaskRecord, record: NewRecord & { type: 'task:suspended' }): void {
    this.#host.commit(record);
    this.#host.emit({ type: 'task:waiting', taskId: task.id, waitingFor: { ...record.waitingFor }, at: record.at });
    if (task.status === 'queued') this.#woken(task);
    else this.arm(task);
  }

  /** Arms the timer of a suspended task whose wait has an end (after a suspension, and at recovery). */
  arm(task: TaskRecord): void {
    const waitingFor = task.waitingFor;
    if (task.status !== 'waiting' || waitingFor == null || waitingFor.until == null) return;
    const { name } = waitingFor;
    const reason = waitingFor.kind === 'sleep' ? 'slept' : 'timed_out';
    this.#timers.armAt(task.id, waitingFor.until, () => {
      if (task.status !== 'waiting' || task.waitingFor?.name !== name || this.#host.state() === 'stopped') return;
      this.#host.commit({ type: 'task:woken', at: this.#clock.now(), taskId: task.id, name, reason });
      if ((task.status as TaskStatus) === 'queued') this.#woken(task);
    });
  }

  /** Recovery: the timers of every suspended task again, from the table. */
  recover(): void {
    for (const task of this.#host.table.tasks.values()) if (task.waitingFor != null) this.arm(task);
  }

  /** Forgets a task's timer (it was cancelled). */
  clear(taskId: string): void {
    this.#timers.clear(taskId);
  }

  /** Shutdown: no wake-up is journaled any more (recovery arms them again). */
  clearAll(): void {
    this.#timers.clearAll();
  }

  #woken(task: TaskRecord): void {
    this.#timers.clear(task.id);
    this.#host.requeue(task);
  }
}
