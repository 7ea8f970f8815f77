import type { ExecutionContext, ExecutionEnd } from '@steward/actors';
import type { AppendReceipt } from '@steward/store';
import type { RuntimeEvent } from '../events/events.js';
import type { Executor, ProcessGroup } from '../executors/executor.js';
import type { NewRecord } from '../journal/journal-record.js';
import type { TaskTable } from '../journal/reducer.js';
import type { ResolvedRuntimeOptions } from '../model/options.js';
import type { ResolvedDefinition } from '../model/task-definition.js';
import { toTaskError } from '../model/task-error.js';
import type { TaskRecord } from '../model/task-record.js';
import type { OutputChunk } from '../model/types.js';
import type { TaskOutput } from '../output/task-output.js';
import type { MetricsCollector } from '../reports/metrics.js';
import type { ReadyQueue } from '../scheduling/ready-queue.js';
import { TaskTimers } from '../scheduling/task-timers.js';
import type { Clock } from '../time/clock.js';
import { IdleWaiter } from '../time/idle-waiter.js';
import { UsageMeter } from '../coordination/usage-meter.js';
import { Attempt, type AttemptHost } from './attempt.js';
import { decideEnd, decideSuspension, unjournalableResult } from './decide-end.js';
import { Waits } from './waits.js';
import type { Services } from './services.js';
import { dependencyResults } from './settlement.js';

/** What the dispatcher needs from the engine around it. */
export interface DispatchHost {
  readonly options: ResolvedRuntimeOptions;
  readonly table: TaskTable;
  readonly ready: ReadyQueue<TaskRecord>;
  readonly output: TaskOutput;
  readonly metrics: MetricsCollector;
  readonly definitions: ReadonlyMap<string, ResolvedDefinition>;
  readonly executors: ReadonlyMap<string, Executor>;
  commit(record: NewRecord): { task: TaskRecord | undefined; receipt: AppendReceipt };
  emit(event: RuntimeEvent): void;
  /** The task has ended: tell everyone. */
  finalize(task: TaskRecord): void;
  state(): 'running' | 'stopping' | 'stopped';
}

/**
 * The attempt path: pump → start → launch → settle → retry. It owns what is running
 * (the attempts by task, the count by type) and the retry timers; it takes ready
 * tasks by priority while there is room, admits each (locks, tokens, the guard),
 * starts it under its type's supervisor, hands it to its executor, and when the
 * execution actor reaches its single end, does what `decideEnd` says. It is also the
 * host the running attempts report to.
 */
export class Dispatcher implements AttemptHost {
  readonly #host: DispatchHost;
  readonly #services: Services;
  readonly #clock: Clock;
  readonly #running = new Map<string, Attempt>();
  readonly #runningByType = new Map<string, number>();
  /** Running tasks by type and concurrency key (`type\0key`); tasks without a key are not counted. */
  readonly #runningByKey = new Map<string, number>();
  readonly #retryTimers: TaskTimers;
  readonly #idle = new IdleWaiter();
  /** Weighted takes and usage of running handlers (made at the first ctx.rateLimit). */
  #usage: UsageMeter | undefined;
  #pumpQueued = false;
  /** False once shutdown stops taking new work (at once, or after the drain). */
  admitting = true;
  /** Durable waits: suspended tasks, their signals and their timers. */
  readonly waits: Waits;

  constructor(host: DispatchHost, services: Services, wheel: Clock) {
    this.#host = host;
    this.#services = services;
    this.#clock = host.options.clock;
    this.#retryTimers = new TaskTimers(wheel);
    this.waits = new Waits({ ...host, requeue: (task) => this.#requeue(task) }, wheel);
  }

  get runningCount(): number {
    return this.#running.size;
  }

  get retryingCount(): number {
    return this.#retryTimers.size;
  }

  /** Why a ready task of `type` (and `key`) is not running now, or undefined when nothing but its turn holds it. */
  blockReason(type: string, key?: string): string | undefined {
    if (!this.#host.definitions.has(type)) return 'type not defined';
    if (this.#services.supervision.quarantinedUntil(type) !== undefined) return 'quarantined';
    if (!this.#canRun(type)) return 'type concurrency';
    if (key !== undefined && !this.#canRunKey(type, key)) return 'key concurrency';
    if (this.#running.size >= this.#host.options.concurrency) return 'concurrency';
    return undefined;
  }

  /** Looks at the ready queue one turn later (see #pump). */
  schedulePump(): void {
    if (this.#pumpQueued) return;
    this.#pumpQueued = true;
    // One turn later, not a microtask: a caller that awaited submit() can still
    // subscribe to the handle before the task starts, and a burst of submissions
    // in one turn is admitted in one pass.
    setImmediate(() => this.#pump());
  }

  /**
   * Stops a running task's attempt (`cancel`): 'sent' when its actor has settled it,
   * 'pending' when it is being started right now (a cancel from a handler that runs
   * synchronously; applied as soon as its actor exists), false when it is not running.
   */
  cancelRunning(taskId: string, reason: string | undefined): 'sent' | 'pending' | false {
    const attempt = this.#running.get(taskId);
    if (attempt === undefined) return false;
    const actor = attempt.actor;
    if (actor === undefined) {
      attempt.pendingCancel = { reason };
      return 'pending';
    }
    actor.send({ type: 'cancel', reason });
    return 'sent';
  }

  /** Forgets a task's pending retry, and the timer of its wait. */
  clearRetry(taskId: string): void {
    this.#retryTimers.clear(taskId);
    this.waits.clear(taskId);
  }

  /** Waits out the backoff of a retrying task, then queues it again. */
  armRetry(task: TaskRecord, delayMs: number): void {
    this.#retryTimers.arm(task.id, delayMs, () => {
      if (task.status !== 'retrying') return;
      const at = this.#clock.now();
      this.#host.commit({ type: 'task:requeued', at, taskId: task.id });
      this.#host.ready.add(task);
      this.#host.emit({ type: 'task:queued', taskId: task.id, priority: task.priority, at });
      this.schedulePump();
    });
  }

  /** Shutdown: no new attempt starts, retries are dropped (journaled, resumed on restart), running ones are interrupted. */
  interruptAll(): void {
    this.admitting = false;
    this.#retryTimers.clearAll();
    this.waits.clearAll();
    for (const attempt of [...this.#running.values()]) {
      attempt.interrupting = true;
      attempt.actor?.send({ type: 'cancel', reason: 'shutdown' });
    }
  }

  /** Resolves when nothing runs (and with `drain`, nothing waits either), or after `timeoutMs`. */
  waitIdle(timeoutMs: number, drain: boolean): Promise<void> {
    return this.#idle.wait(() => this.#running.size === 0 && (!drain || (this.#host.ready.size === 0 && this.#retryTimers.size === 0)), timeoutMs);
  }

  readonly #canRun = (type: string): boolean => {
    const definition = this.#host.definitions.get(type);
    return definition !== undefined && (this.#runningByType.get(type) ?? 0) < definition.concurrency && this.#services.supervision.quarantinedUntil(type) === undefined;
  };

  readonly #canRunKey = (type: string, key: string): boolean => {
    const limit = this.#host.definitions.get(type)?.keyConcurrency ?? Infinity;
    return limit === Infinity || (this.#runningByKey.get(`${type}\u0000${key}`) ?? 0) < limit;
  };

  #pump(): void {
    this.#pumpQueued = false;
    const limit = this.#services.guard?.effectiveConcurrency ?? this.#host.options.concurrency;
    while (this.admitting && this.#running.size < limit) {
      const task = this.#host.ready.take(this.#canRun, this.#canRunKey);
      if (task === undefined) break;
      // Everything it declares at once (locks, a token, the guard's leave), or it is
      // parked and the next one is looked at.
      const admitted = this.#services.admission.admit(task, this.#clock.now());
      if (admitted === false) continue;
      this.#start(task, admitted.lockWaitMs, admitted.rateLimited);
    }
  }

  #start(task: TaskRecord, lockWaitMs?: number, rateLimited = false): void {
    const definition = this.#host.definitions.get(task.type) as ResolvedDefinition;
    const executor = this.#host.executors.get(definition.kind) as Executor;
    const number = task.attempts + 1;
    const at = this.#clock.now();
    this.#host.commit({ type: 'attempt:started', at, taskId: task.id, attempt: number, ...(lockWaitMs === undefined ? {} : { lockWaitMs }), ...(rateLimited ? { rateLimited } : {}) });
    this.#runningByType.set(task.type, (this.#runningByType.get(task.type) ?? 0) + 1);
    if (task.concurrencyKey !== undefined) {
      const lane = `${task.type}\u0000${task.concurrencyKey}`;
      this.#runningByKey.set(lane, (this.#runningByKey.get(lane) ?? 0) + 1);
    }
    this.#services.tracing?.attemptStarted(task, number);
    const attempt = new Attempt(this, task, number, definition, executor);
    this.#running.set(task.id, attempt);
    // Told before the work starts, so its progress follows it; a listener that
    // cancels here leaves a pending cancel, applied once the actor exists.
    if (task.locks.length > 0) this.#host.emit({ type: 'lock:acquired', taskId: task.id, locks: task.locks.map((l) => l.name), waitedMs: lockWaitMs ?? 0, at });
    this.#host.emit({ type: 'task:started', taskId: task.id, attempt: number, taskType: task.type, at });
    // Kept before it starts: a cancel from inside the start waits in its mailbox.
    const execution = this.#services.supervision.startExecution(task.type, task.id, task.timeoutMs ?? definition.timeoutMs);
    attempt.actor = execution;
    execution?.start();
    if (task.workflowId !== undefined) this.#services.workflows.taskChanged(task);
    if (attempt.pendingCancel !== undefined && !attempt.settled) {
      attempt.actor?.send({ type: 'cancel', reason: attempt.pendingCancel.reason });
    }
  }

  /** The execution actor's entry action: hand the attempt to its executor. */
  launch(taskId: string): void {
    const attempt = this.#running.get(taskId);
    if (attempt === undefined) return;
    try {
      attempt.executor.execute(attempt.request(dependencyResults(this.#host.table, attempt.task), this.#services.tracing?.request(taskId)), attempt);
    } catch (error) {
      // An executor must report through its sink, but one that throws must not take
      // the host down with it (this runs inside the actor's entry action).
      const failure = toTaskError(error, 'STEWARD_EXECUTOR_ERROR');
      queueMicrotask(() => attempt.crashed({ ...failure, message: `executor "${attempt.executor.kind}" threw: ${failure.message}` }));
    }
  }

  /** The execution actor's stop action: the work is stopped for real. */
  stop(taskId: string, end: ExecutionEnd): void {
    this.#running.get(taskId)?.abort(end);
  }

  /** The execution actor's single end. */
  settle(context: ExecutionContext, end: ExecutionEnd): void {
    const attempt = this.#running.get(context.executionId);
    if (attempt === undefined || attempt.settled) return;
    attempt.settled = true;
    this.#running.delete(context.executionId);
    const task = attempt.task;
    this.#runningByType.set(task.type, (this.#runningByType.get(task.type) ?? 1) - 1);
    if (task.concurrencyKey !== undefined) {
      const lane = `${task.type}\u0000${task.concurrencyKey}`;
      const left = (this.#runningByKey.get(lane) ?? 1) - 1;
      if (left > 0) this.#runningByKey.set(lane, left);
      else this.#runningByKey.delete(lane);
    }
    const { admission, supervision } = this.#services;
    admission.release(task);
    const at = this.#clock.now();
    if (end === 'suspended') {
      // A durable wait: no outcome, no retry spent; the task waits holding nothing (a restart re-runs a suspension not journaled).
      this.#services.tracing?.attemptSuspended(task.id);
      if (this.#host.state() !== 'stopped') this.waits.suspended(task, decideSuspension(task, attempt.number, context, at));
      this.#afterAttempt();
      return;
    }
    const decision = decideEnd({
      task,
      attempt: attempt.number,
      definition: attempt.definition,
      end,
      context,
      at,
      resources: attempt.resources,
      interrupting: attempt.interrupting,
      stopped: this.#host.state() === 'stopped',
      wouldQuarantine: context.crashed === true && supervision.wouldQuarantine(task.type),
      random: this.#host.options.random,
    });
    if (decision.kind === 'interrupted') {
      this.#services.tracing?.attemptEnded(task.id, decision);
      this.#host.commit(decision.record);
      this.#host.emit({ type: 'attempt:interrupted', taskId: task.id, attempt: attempt.number, reason: decision.reason, at });
      // Not shutdown: its executor stopped it for another task's sake, so it goes back at once.
      if (!attempt.interrupting && this.admitting) this.#requeue(task);
      this.#afterAttempt();
      return;
    }
    let ended = decision;
    try {
      this.#host.commit(ended.record);
    } catch (cause) {
      // Only a completed attempt's result is new to the journal here: one it cannot
      // encode fails the attempt for good (the same handler would give the same result).
      ended = unjournalableResult(ended, task.id, cause);
      this.#host.commit(ended.record);
    }
    this.#services.tracing?.attemptEnded(task.id, ended);
    const { error, retryDelayMs, quarantine, pauseBucket } = ended;
    if (pauseBucket !== undefined) admission.pause(pauseBucket.bucket, pauseBucket.until);
    if (context.crashed && error !== undefined) {
      this.#host.metrics.crashed++;
      this.#host.emit({ type: 'supervisor:restarted', taskId: task.id, supervisor: `type:${task.type}`, restarts: supervision.restartsOf(task.type) + 1, error, at });
    }
    if (quarantine !== undefined) {
      const until = supervision.quarantine(task.type);
      this.#host.options.logger.warn(`steward: task type "${task.type}" is quarantined until ${new Date(until).toISOString()} after repeated crashes`);
      this.#host.emit({ type: 'supervisor:quarantined', taskId: task.id, supervisor: `type:${task.type}`, taskType: task.type, until, error: quarantine, at });
    }
    if (retryDelayMs !== undefined && error !== undefined) {
      // While stopping (without drain) the retry is journaled but not armed: the
      // task stays retrying and a restart resumes it.
      if (this.admitting) this.armRetry(task, retryDelayMs);
      this.#host.emit({ type: 'task:retrying', taskId: task.id, attempt: attempt.number, delayMs: retryDelayMs, error, at });
    } else {
      this.#host.finalize(task);
    }
    this.#afterAttempt();
  }

  /** A suspended task's wait is over, or its attempt was interrupted: back in the queue. */
  #requeue(task: TaskRecord): void {
    this.#host.ready.add(task);
    this.#host.emit({ type: 'task:queued', taskId: task.id, priority: task.priority, at: this.#clock.now() });
    this.schedulePump();
    if (task.workflowId !== undefined) this.#services.workflows.taskChanged(task);
  }

  #afterAttempt(): void {
    this.schedulePump();
    this.#idle.poke();
  }

  // ---- AttemptHost: what a running attempt reports ------------------------

  onProgress(attempt: Attempt, percent: number, message: string | undefined): void {
    const task = attempt.task;
    // Progress is not journaled: it changes often and means nothing after a restart.
    task.progress = message === undefined ? { percent } : { percent, message };
    const at = this.#clock.now();
    this.#host.emit(message === undefined ? { type: 'task:progress', taskId: task.id, percent, at } : { type: 'task:progress', taskId: task.id, percent, message, at });
  }

  onOutput(attempt: Attempt, stream: OutputChunk['stream'], data: string): void {
    const id = attempt.task.id;
    const at = this.#clock.now();
    if (this.#host.state() === 'stopped' && this.#host.output.onDisk) return; // the store is closed
    this.#host.output.append(id, { stream, data, at });
    this.#host.emit({ type: 'task:output', taskId: id, stream, data, at });
  }

  outputDrain(): Promise<void> | undefined {
    return this.#host.output.whenWritable();
  }

  takeToken(attempt: Attempt, bucket: string, cost?: number): Promise<void> {
    this.#usage ??= new UsageMeter(this.#services.admission, this.#clock, this.#host);
    return this.#usage.take(attempt, bucket, cost);
  }

  reportUsage(attempt: Attempt, bucket: string, used: number): void {
    this.#usage ??= new UsageMeter(this.#services.admission, this.#clock, this.#host);
    this.#usage.report(attempt, bucket, used);
  }

  onStep(attempt: Attempt, name: string, result: unknown): void {
    const taskId = attempt.task.id;
    if (this.#host.state() === 'stopped') return;
    let receipt: AppendReceipt;
    try {
      ({ receipt } = this.#host.commit({ type: 'step:completed', at: this.#clock.now(), taskId, name, result }));
    } catch (error) {
      // A result the journal cannot encode: the step will run again on a later attempt.
      this.#host.options.logger.warn(`steward: step "${name}" of task ${taskId} could not be journaled`, error);
      return;
    }
    // Announced once durable, so "step done" means it will not run again.
    receipt.durable.then(
      () => this.#host.emit({ type: 'task:step', taskId, name, at: this.#clock.now() }),
      () => undefined,
    );
  }

  onProcessStarted(attempt: Attempt, group: ProcessGroup): void {
    if (this.#host.state() === 'stopped') return; // the store is closed; close() stops the group
    const taskId = attempt.task.id;
    try {
      this.#host.commit({ type: 'attempt:process', at: this.#clock.now(), taskId, attempt: attempt.number, kind: attempt.executor.kind, group });
    } catch (error) {
      // Only a group the executor made up could fail to encode; the attempt runs on unrecorded.
      this.#host.options.logger.warn(`steward: the process group of task ${taskId} could not be journaled`, error);
    }
  }
}
