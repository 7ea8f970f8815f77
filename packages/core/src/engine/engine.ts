import { type ExecutionContext, type ExecutionEnd, executionMachine, type ExecutionActorRef } from '@steward/actors';
import type { AppendReceipt } from '@steward/store';
import { Subject } from 'rxjs';
import { Attempt, type AttemptHost } from './attempt.js';
import { InvalidOptionsError, InvalidStateError, ShuttingDownError, TaskNotFoundError } from '../model/errors.js';
import type { RuntimeEvent } from '../events/events.js';
import type { Executor, ProcessGroup } from '../executors/executor.js';
import { InlineExecutor } from '../executors/inline-executor.js';
import { JOURNAL_VERSION, type JournalRecord } from '../journal/journal-record.js';
import { MetricsCollector } from '../reports/metrics.js';
import type { ResolvedRuntimeOptions } from '../model/options.js';
import { ReadyQueue } from '../scheduling/ready-queue.js';
import { Journal, type RecoveryReport } from '../journal/journal.js';
import type { TaskTable } from '../journal/reducer.js';
import { resolveDefinition, type ResolvedDefinition, type TaskDefinition } from '../model/task-definition.js';
import { TaskFailure, taskError, toTaskError, type TaskError } from '../model/task-error.js';
import type { TaskRecord } from '../model/task-record.js';
import { Supervision, type SupervisionNode } from '../supervision/supervision.js';
import { TimerWheel } from '../time/timer-wheel.js';
import { RetryTimers } from '../scheduling/retry-timers.js';
import { startResourceSampling } from '../coordination/resource-sampling.js';
import { prepareSubmission } from './submission.js';
import type { SubmitOptions } from '../model/submit-options.js';
import { resumeAfterReplay, stopOrphanedGroups } from './recovery.js';
import { IdleWaiter } from '../time/idle-waiter.js';
import { attemptError, dependencyResults, outcomeOf, retryDelay, terminalEvent } from './settlement.js';
import { TaskOutput } from '../output/task-output.js';
import { Admission } from '../coordination/admission.js';
import { Workflows } from '../workflows/workflows.js';
import { recordToEvents, workflowMarks } from '../events/record-events.js';
import { EventFeed, type FeedEvent, type FeedPosition } from '../events/event-feed.js';
import { replayJournalEvents } from '../events/event-replay.js';
import { WebhookDispatcher } from '../webhooks/webhook-dispatcher.js';
import { checkWebhookUrl } from '../webhooks/webhook-url.js';
import { ResourceGuard } from '../coordination/resource-guard.js';
import { isTerminal, type OutputChunk, type TaskOutcome, type TerminalStatus } from '../model/types.js';
import { WorkerExecutor } from '../executors/worker/worker-executor.js';


interface Waiter {
  resolve(outcome: TaskOutcome): void;
  reject(error: Error): void;
}

const NO_STEPS: Readonly<Record<string, unknown>> = Object.freeze({});

/**
 * The private engine behind the Runtime facade: the task table, the ready queue,
 * admission, attempts and their actors, retries and the journal. Everything that
 * changes a task's status goes through `#commit`, which writes the record to the
 * journal and folds it into the table with the same reducer replay uses.
 */
export class Engine implements AttemptHost {
  readonly options: ResolvedRuntimeOptions;
  readonly table: TaskTable;
  readonly ready = new ReadyQueue<TaskRecord>();
  readonly events = new Subject<RuntimeEvent>();
  /** Every event with a resumable id; a journal record's events are derived from the record as it is applied. */
  readonly feed = new EventFeed(this.events, () => this.journalSeq);
  readonly metrics = new MetricsCollector();
  readonly startedAt: number;
  /** What recovery found when the runtime opened. */
  recovery: RecoveryReport | undefined;
  readonly #journal: Journal;
  readonly #wheel: TimerWheel;
  readonly #definitions = new Map<string, ResolvedDefinition>();
  readonly #executors = new Map<string, Executor>();
  readonly #running = new Map<string, Attempt>();
  readonly #runningByType = new Map<string, number>();
  readonly #retryTimers: RetryTimers;
  readonly #waiters = new Map<string, Waiter[]>();
  /** Captured output of every task. */
  readonly output: TaskOutput;
  readonly #idle = new IdleWaiter();
  readonly #supervision: Supervision;
  readonly admission: Admission;
  /** When the resource guard throttled, in this process (for reports). */
  readonly throttlePeriods: Array<{ from: number; to?: number }> = [];
  readonly workflows: Workflows;
  readonly webhooks: WebhookDispatcher;
  readonly guard: ResourceGuard | undefined;
  #pumpQueued = false;
  #compactQueued = false;
  #admitting = true;
  #state: 'running' | 'stopping' | 'stopped' = 'running';

  /** Opens the journal, builds the engine and recovers what the journal holds. */
  static async create(options: ResolvedRuntimeOptions): Promise<Engine> {
    const torn: number[] = [];
    let built: Engine | undefined;
    const journal = await Journal.open({
      dataDir: options.dataDir,
      store: options.store,
      durability: options.durability,
      agingMs: options.agingMs,
      snapshotEvery: options.snapshotEvery,
      maxOutputBytes: options.maxOutputBytes,
      onTornTail: (seq, cause) => {
        torn.push(seq);
        options.logger.warn(`steward: journal record ${seq} at the tail could not be decoded (a torn last write); replay stopped before it`, cause);
      },
      onWriteFailed: (error) => {
        options.logger.warn(`steward: the journal cannot be written (${error.code}); submissions are refused and what is pending is retried until it can`, error);
        built?.emitJournal({ type: 'journal:write-failed', code: error.code, message: error.message, at: options.clock.now() });
      },
      onRecovered: () => {
        options.logger.warn('steward: the journal can be written again; submissions are accepted');
        built?.emitJournal({ type: 'journal:write-recovered', at: options.clock.now() });
      },
    });
    let engine: Engine;
    try {
      engine = new Engine(options, journal);
    } catch (error) {
      // A bad `tasks` entry, say: the directory must not stay locked for the life of the process.
      if (options.store === undefined) await journal.store.close().catch(() => undefined);
      throw error;
    }
    built = engine;
    try {
      // Defined here, not in the constructor: a bad entry must also stop what the engine started (its timers).
      for (const [type, definition] of Object.entries(options.tasks)) engine.define(type, definition);
      await engine.#recover(torn);
    } catch (error) {
      await engine.shutdown(0, false).catch(() => undefined);
      throw error;
    }
    return engine;
  }

  private constructor(options: ResolvedRuntimeOptions, journal: Journal) {
    this.options = options;
    this.#journal = journal;
    this.table = journal.table;
    this.output = new TaskOutput(journal.persistent ? journal.store : undefined, options.maxOutputBytes);
    this.#wheel = new TimerWheel(options.clock);
    this.#retryTimers = new RetryTimers(this.#wheel);
    this.startedAt = options.clock.now();
    this.#executors.set('inline', new InlineExecutor());
    for (const executor of options.executors) this.#executors.set(executor.kind, executor);
    const execution = executionMachine.provide({
      actions: {
        startAttempt: (_args, params) => this.#launch(params.executionId),
        stopAttempt: (_args, params) => this.#running.get(params.executionId)?.controller.abort(params.end),
        settle: (_args, params) => this.#settle(params.context, params.end),
      },
    });
    this.#supervision = new Supervision({
      clock: this.#wheel,
      logger: options.logger,
      executorKinds: ['inline', 'worker', ...options.executors.map((e) => e.kind)],
      execution,
      hooks: {
        restartService: (name) => (name === 'journal' ? this.#journal.store.flush() : undefined),
        restartExecutor: (kind) => this.#executors.get(kind)?.restart?.(),
        quarantineEnded: (type) => {
          this.options.logger.warn(`steward: task type "${type}" leaves quarantine; its tasks may run again`);
          this.#schedulePump();
        },
      },
    });
    journal.onWriteFailed = (error) => this.#supervision.serviceFailed('journal', error);
    const guardOptions = options.resourceGuard;
    this.guard = guardOptions === undefined ? undefined : new ResourceGuard(guardOptions, options.concurrency);
    this.admission = new Admission({
      clock: this.#wheel,
      rateLimits: options.rateLimits,
      protect: guardOptions?.protect ?? 0,
      ...(this.guard === undefined ? {} : { guard: this.guard }),
      host: {
        requeue: (tasks) => {
          for (const task of tasks) if (task.status === 'queued') this.ready.add(task);
          this.#schedulePump();
        },
        parked: (task, reason, at) => {
          if (!this.events.observed) return;
          if (reason.kind === 'lock') this.events.next({ type: 'lock:waiting', taskId: task.id, lock: reason.name, at });
          else if (reason.kind === 'rate') this.events.next({ type: 'ratelimit:waiting', taskId: task.id, bucket: reason.bucket, until: reason.until, at });
        },
        lockTimedOut: (task) => {
          const error = taskError('STEWARD_LOCK_TIMEOUT', `waited more than ${task.lockTimeoutMs} ms for its locks (${task.locks.map((l) => l.name).join(', ')})`, false);
          this.#commit({ v: JOURNAL_VERSION, type: 'task:rejected', at: this.options.clock.now(), taskId: task.id, error });
          this.#finalize(task);
        },
      },
    });
    if (this.guard !== undefined && guardOptions !== undefined) {
      startResourceSampling({
        guard: this.guard,
        sampler: guardOptions.sampler,
        intervalMs: guardOptions.intervalMs,
        clock: this.#wheel,
        logger: options.logger,
        periods: this.throttlePeriods,
        stopped: () => this.#state === 'stopped',
        changed: (change, reading, at) => {
          const payload = { at, cpuPercent: reading.cpuPercent, memoryMb: reading.memoryMb, concurrency: this.guard?.effectiveConcurrency ?? 0 };
          if (change === 'throttled' && this.events.observed) this.events.next({ type: 'resource:throttled', ...payload });
          if (change === 'recovered') {
            if (this.events.observed) this.events.next({ type: 'resource:recovered', ...payload });
            this.admission.guardRecovered();
          }
          this.#schedulePump();
        },
      });
    }
    this.webhooks = new WebhookDispatcher(
      {
        table: this.table,
        clock: this.#wheel,
        commit: (record) => void this.#commit(record),
        emit: (event) => {
          if (this.events.observed) this.events.next(event);
        },
        logger: options.logger,
        isOpen: () => this.#state !== 'stopped',
      },
      options.webhooks,
    );
    this.workflows = new Workflows({
      table: this.table,
      now: () => this.options.clock.now(),
      newId: () => this.options.idGenerator(),
      commit: (record) => void this.#commit(record),
      submit: (type, input, options, internal) => this.submit(type, input, options, internal).task,
      cancel: (taskId, reason) => void this.cancel(taskId, reason),
      isDefined: (type) => this.#definitions.has(type),
      emit: (event) => {
        if (this.events.observed) this.events.next(event);
      },
      isOpen: () => this.#state === 'running',
      checkWebhookUrl: (url) => checkWebhookUrl(url, this.webhooks.allowPrivateNetworks),
      ended: (workflow, outcome) => {
        if (workflow.webhook !== undefined) this.webhooks.enqueue({ workflowId: workflow.id }, workflow.webhook, `workflow.${outcome.status}`, { ...outcome, name: workflow.name }, this.options.idGenerator());
      },
    });
  }

  get state(): 'running' | 'stopping' | 'stopped' {
    return this.#state;
  }

  get runningCount(): number {
    return this.#running.size;
  }

  get retryingCount(): number {
    return this.#retryTimers.size;
  }

  /** Crashed executions restarted, over every task type. */
  get restarts(): number {
    return this.#supervision.restarts;
  }

  /** The supervision tree as plain data. */
  supervision(): SupervisionNode {
    return this.#supervision.view();
  }

  // ---- definitions -------------------------------------------------------

  define(type: string, definition: TaskDefinition): void {
    this.#assertOpen();
    const kinds = new Set([...this.#executors.keys()].filter((k) => k !== 'inline' && k !== 'worker'));
    const resolved = resolveDefinition(type, definition, this.options.priorities, kinds);
    if (resolved.rateLimit !== undefined && !Object.hasOwn(this.options.rateLimits, resolved.rateLimit)) {
      throw new InvalidOptionsError(`definition "${type}".rateLimit: no bucket "${resolved.rateLimit}" in rateLimits`);
    }
    this.#executors.get(resolved.kind)?.validate?.(type, definition);
    if (resolved.kind === 'worker' && !this.#executors.has('worker')) {
      this.#executors.set(
        'worker',
        new WorkerExecutor(
          this.options.workers,
          (error) => {
            this.options.logger.warn('steward: a worker thread failed between tasks', error);
            this.#supervision.executorFailed('worker', error);
          },
          (taskId, what, message) =>
            this.options.logger.warn(`steward: task ${taskId} left something behind that ${what === 'exit' ? 'called process.exit' : 'threw'} after it ended; contained: ${message}`),
        ),
      );
    }
    const policy = { ...this.options.supervision, ...definition.supervision };
    this.#supervision.defineType(type, resolved.kind, policy);
    this.#definitions.set(type, resolved);
    // Tasks of this type may have been waiting for it (recovered before it was defined).
    this.#schedulePump();
  }

  isDefined(type: string): boolean {
    return this.#definitions.has(type);
  }

  /** Why a ready task of `type` is not running now, or undefined when nothing but its turn holds it. */
  blockReason(type: string): string | undefined {
    if (!this.#definitions.has(type)) return 'type not defined';
    if (this.#supervision.quarantinedUntil(type) !== undefined) return 'quarantined';
    if (!this.#canRun(type)) return 'type concurrency';
    if (this.#running.size >= this.options.concurrency) return 'concurrency';
    return undefined;
  }

  /** Sequence number of the newest journal record. */
  get journalSeq(): number {
    return this.#journal.store.lastSeq;
  }

  /** Events of the records after `afterSeq` (see Runtime.replayEvents). */
  async *replayEvents(afterSeq: number): AsyncIterable<{ seq: number; event: RuntimeEvent }> {
    for await (const { seq, event } of this.replayFeed({ seq: afterSeq })) yield { seq, event };
  }

  /** The journaled events after `after`, as the live feed gave them (see replayJournalEvents). */
  replayFeed(after: FeedPosition): AsyncIterable<FeedEvent & { seq: number }> {
    return replayJournalEvents(this.#journal.store, this.table.agingMs, after);
  }

  /** Queued tasks: ready, and parked on a lock, a bucket or the guard. */
  get queuedCount(): number {
    return this.ready.size + this.admission.parked.size;
  }

  /** Number of threads of the worker pool, or 0 when none was started. */
  get workerThreads(): number {
    const pool = this.#executors.get('worker');
    return pool instanceof WorkerExecutor ? pool.threads : 0;
  }

  // ---- submission --------------------------------------------------------

  submit(
    type: string,
    input: unknown,
    options: SubmitOptions | undefined,
    internal?: { workflowId: string; workflowTaskId: string },
  ): { task: TaskRecord; durable: Promise<void> } {
    this.#assertOpen();
    const prepared = prepareSubmission(
      type,
      input,
      options,
      {
        definitions: this.#definitions,
        table: this.table,
        waiting: this.queuedCount + this.#retryTimers.size + this.table.waiting,
        runtime: this.options,
      },
      internal,
    );
    // Not durable before the first submission of the same key is.
    if ('existing' in prepared) return { task: prepared.existing, durable: this.#journal.durableThroughLast() };
    // While the journal cannot be written, nothing new is taken on (or held in memory).
    const failure = this.#journal.writeFailure;
    if (failure !== undefined) throw failure;
    const { task } = prepared;
    const priority = task.priority;
    const at = this.options.clock.now();
    const { task: record, receipt } = this.#commit({ v: JOURNAL_VERSION, type: 'task:submitted', at, task });
    const created = record as TaskRecord;
    this.metrics.submitted++;
    if (this.events.observed) this.events.next({ type: 'task:submitted', taskId: created.id, taskType: type, priority, at });
    this.#placed(created, at);
    return { task: created, durable: receipt.durable };
  }

  // ---- steering ----------------------------------------------------------

  cancel(id: string, reason?: string): { cancelled: boolean; status: TaskRecord['status'] } {
    if (this.#state === 'stopped') throw new ShuttingDownError('the runtime has shut down');
    if (reason !== undefined && typeof reason !== 'string') throw new InvalidOptionsError('reason must be a string');
    const task = this.#taskOrThrow(id);
    if (isTerminal(task.status)) return { cancelled: false, status: task.status };
    const running = this.#running.get(id);
    if (running !== undefined) {
      const actor = this.actorOf(running);
      if (actor === undefined) {
        // The attempt is being started right now (a cancel from a handler that runs
        // synchronously): the cancel is applied as soon as its actor exists.
        running.pendingCancel = { reason };
        return { cancelled: true, status: task.status };
      }
      actor.send({ type: 'cancel', reason });
      // The actor settles synchronously, so the status is final by now.
      const status = task.status as TaskRecord['status'];
      return { cancelled: status === 'cancelled', status };
    }
    this.ready.remove(task);
    this.admission.forget(task);
    this.#retryTimers.clear(id);
    this.#commit({ v: JOURNAL_VERSION, type: 'task:cancelled', at: this.options.clock.now(), taskId: id, reason });
    this.#finalize(task);
    this.#schedulePump();
    return { cancelled: true, status: task.status };
  }

  retry(id: string): TaskRecord {
    this.#assertOpen();
    const task = this.#taskOrThrow(id);
    if (task.status !== 'failed' && task.status !== 'cancelled' && task.status !== 'timed_out') {
      throw new InvalidStateError(`task "${id}" is ${task.status}; only a failed, cancelled or timed-out task can be retried`);
    }
    const at = this.options.clock.now();
    this.#commit({ v: JOURNAL_VERSION, type: 'task:retried', at, taskId: id });
    this.metrics.retried++;
    this.#placed(task, at);
    return task;
  }

  // ---- reading -----------------------------------------------------------

  outcome(id: string): Promise<TaskOutcome> {
    const task = this.#taskOrThrow(id);
    if (isTerminal(task.status)) return Promise.resolve(outcomeOf(task, task.status));
    if (this.#state === 'stopped') return Promise.reject(new ShuttingDownError(`task "${id}" did not finish before shutdown`));
    return new Promise((resolve, reject) => {
      let list = this.#waiters.get(id);
      if (list === undefined) {
        list = [];
        this.#waiters.set(id, list);
      }
      list.push({ resolve, reject });
    });
  }


  // ---- shutdown ----------------------------------------------------------

  /** Stops intake; lets running work (and with `drain`, queued work) finish for up to `timeoutMs`, then stops the rest. */
  async shutdown(timeoutMs: number, drain: boolean): Promise<void> {
    if (this.#state !== 'running') return;
    this.#state = 'stopping';
    if (!drain) this.#admitting = false;
    await this.#waitIdle(timeoutMs, drain);
    this.#admitting = false;
    this.#retryTimers.clearAll();
    for (const attempt of [...this.#running.values()]) {
      attempt.interrupting = true;
      this.actorOf(attempt)?.send({ type: 'cancel', reason: 'shutdown' });
    }
    this.#state = 'stopped';
    for (const [id, waiters] of this.#waiters) {
      for (const waiter of waiters) waiter.reject(new ShuttingDownError(`task "${id}" did not finish before shutdown`));
    }
    this.#waiters.clear();
    this.#supervision.stop();
    this.admission.stop(new ShuttingDownError());
    this.workflows.stop();
    this.webhooks.stop();
    this.#wheel.clear();
    // async: a close that throws at once is logged below like one that rejects, never thrown from shutdown().
    const closing = [...new Set(this.#executors.values())].map(async (e) => e.close());
    const results = await Promise.allSettled(closing);
    for (const result of results) {
      if (result.status === 'rejected') this.options.logger.warn('steward: an executor failed to close', result.reason);
    }
    const store = this.#journal.store;
    await this.#journal.settled();
    if (this.#journal.persistent && this.recovery !== undefined) {
      // A clean shutdown leaves a snapshot, so the next start replays little.
      this.#compactQueued = false;
      const { done } = this.#journal.compact(this.options.clock.now(), this.options.retention);
      await done.catch((error: unknown) => this.#snapshotFailed(error, 'the next start replays the journal from the last snapshot'));
    }
    this.output.flush(); // output lines gathered for the store go with the last write
    await store.flush().catch(() => undefined);
    // A store passed in belongs to the caller; the others are ours to close.
    if (this.options.store === undefined) await store.close();
    this.events.complete();
  }

  // ---- AttemptHost -------------------------------------------------------

  actorOf(attempt: Attempt): ExecutionActorRef | undefined {
    if (attempt.actor === undefined) attempt.actor = this.#supervision.executionOf(attempt.task.type, attempt.task.id);
    return attempt.actor;
  }

  onProgress(attempt: Attempt, percent: number, message: string | undefined): void {
    const task = attempt.task;
    // Progress is not journaled: it changes often and means nothing after a restart.
    task.progress = message === undefined ? { percent } : { percent, message };
    if (this.events.observed) {
      const at = this.options.clock.now();
      this.events.next(
        message === undefined
          ? { type: 'task:progress', taskId: task.id, percent, at }
          : { type: 'task:progress', taskId: task.id, percent, message, at },
      );
    }
  }

  onOutput(attempt: Attempt, stream: OutputChunk['stream'], data: string): void {
    const id = attempt.task.id;
    const at = this.options.clock.now();
    if (this.#state === 'stopped' && this.output.onDisk) return; // the store is closed
    this.output.append(id, { stream, data, at });
    if (this.events.observed) this.events.next({ type: 'task:output', taskId: id, stream, data, at });
  }

  outputDrain(): Promise<void> | undefined {
    return this.output.whenWritable();
  }

  takeToken(attempt: Attempt, bucket: string): Promise<void> {
    if (typeof bucket !== 'string' || !this.admission.buckets.has(bucket)) {
      return Promise.reject(new TaskFailure(`ctx.rateLimit: no bucket "${String(bucket)}" in rateLimits`, { code: 'STEWARD_INVALID_OPTIONS', retryable: false }));
    }
    if (this.events.observed && this.admission.buckets.nextAt(bucket, this.options.clock.now()) > this.options.clock.now()) {
      const at = this.options.clock.now();
      this.events.next({ type: 'ratelimit:waiting', taskId: attempt.task.id, bucket, until: this.admission.buckets.nextAt(bucket, at), at });
    }
    return this.admission.takeToken(bucket, attempt.controller.signal);
  }

  onStep(attempt: Attempt, name: string, result: unknown): void {
    const taskId = attempt.task.id;
    if (this.#state === 'stopped') return;
    let receipt: AppendReceipt;
    try {
      ({ receipt } = this.#commit({ v: JOURNAL_VERSION, type: 'step:completed', at: this.options.clock.now(), taskId, name, result }));
    } catch (error) {
      // A result the journal cannot encode: the step will run again on a later attempt.
      this.options.logger.warn(`steward: step "${name}" of task ${taskId} could not be journaled`, error);
      return;
    }
    // Announced once durable, so "step done" means it will not run again.
    receipt.durable.then(
      () => {
        if (this.events.observed) this.events.next({ type: 'task:step', taskId, name, at: this.options.clock.now() });
      },
      () => undefined,
    );
  }

  onProcessStarted(attempt: Attempt, group: ProcessGroup): void {
    if (this.#state === 'stopped') return; // the store is closed; close() stops the group
    const taskId = attempt.task.id;
    try {
      this.#commit({ v: JOURNAL_VERSION, type: 'attempt:process', at: this.options.clock.now(), taskId, attempt: attempt.number, kind: attempt.executor.kind, group });
    } catch (error) {
      // Only a group the executor made up could fail to encode; the attempt runs on unrecorded.
      this.options.logger.warn(`steward: the process group of task ${taskId} could not be journaled`, error);
    }
  }

  // ---- internals ---------------------------------------------------------

  #assertOpen(): void {
    if (this.#state !== 'running') throw new ShuttingDownError();
  }

  #taskOrThrow(id: string): TaskRecord {
    const task = typeof id === 'string' ? this.table.tasks.get(id) : undefined;
    if (task === undefined) throw new TaskNotFoundError(id);
    return task;
  }

  /** A task was put where its dependencies say (queued, waiting, or failed by one): act on it. */
  #placed(task: TaskRecord, at: number): void {
    if (task.status === 'queued') {
      this.ready.add(task);
      if (this.events.observed) this.events.next({ type: 'task:queued', taskId: task.id, priority: task.priority, at });
      this.#schedulePump();
      this.workflows.taskChanged(task);
    } else if (isTerminal(task.status)) {
      this.#finalize(task);
    }
  }

  #commit(record: JournalRecord): { task: TaskRecord | undefined; receipt: AppendReceipt } {
    // While someone follows the feed: the record's events, from the state it leaves (and the workflows' before it).
    const marks = this.feed.observed ? workflowMarks(record, this.table) : undefined;
    const committed = this.#journal.commit(record);
    if (marks !== undefined) this.feed.record(committed.receipt.lastSeq, recordToEvents(record, this.table, this.table.changed, marks));
    // Tasks a dependency's end moved on (queued, or failed in cascade).
    if (this.table.changed.length > 0) {
      for (const task of this.table.changed.splice(0)) this.#placed(task, record.at);
    }
    if (this.#journal.snapshotDue && !this.#compactQueued) {
      this.#compactQueued = true;
      setImmediate(() => this.#compact());
    }
    return committed;
  }

  /** Snapshot, compaction and retention; off the hot path, one at a time. */
  #compact(): Promise<void> {
    this.#compactQueued = false;
    if (this.#state === 'stopped') return Promise.resolve();
    const { dropped, done } = this.#journal.compact(this.options.clock.now(), this.options.retention);
    for (const id of dropped) this.output.drop(id);
    return done.catch((error: unknown) => this.#snapshotFailed(error, 'the journal keeps growing until the next one succeeds'));
  }

  /** A snapshot failed: logged and evented; the journal carries on without it. */
  #snapshotFailed(error: unknown, consequence: string): void {
    this.options.logger.warn(`steward: a journal snapshot failed; ${consequence}`, error);
    const { code, message } = error as { code?: unknown; message?: unknown };
    this.emitJournal({ type: 'journal:snapshot-failed', code: typeof code === 'string' ? code : 'STEWARD_STORE_UNAVAILABLE', message: String(message), at: this.options.clock.now() });
  }

  /** Tells subscribers about the journal itself (not about a task). */
  emitJournal(event: RuntimeEvent): void {
    if (this.events.observed) this.events.next(event);
  }

  /** Rebuilds the queue, the retry timers and the interrupted attempts from the recovered table. */
  async #recover(torn: number[]): Promise<void> {
    this.recovery = await this.#journal.recover(() => this.options.clock.now(), this.options.recovery.onCorruption);
    const lost = this.recovery.lost;
    if (lost !== undefined) {
      this.options.logger.warn(
        `steward: salvaged a damaged journal: ${lost.records} records lost (${lost.ranges.map((r) => `${r.from}..${r.to}`).join(', ')})` +
          (lost.taskIds.length > 0 ? `; tasks whose submission was lost: ${lost.taskIds.join(', ')}` : ''),
      );
      // A snapshot now, so the next open starts after the gap and does not meet it again.
      await this.#journal
        .compact(this.options.clock.now(), this.options.retention)
        .done.catch((error: unknown) => this.#snapshotFailed(error, 'the next open meets the same damage and needs salvage again'));
    }
    // Before anything is queued again: what a killed host left running is stopped
    // first (or its task is failed), so no task runs beside its own orphan.
    const unstoppable = await stopOrphanedGroups(this.table, (kind) => this.#executors.get(kind)?.reaper, this.options.logger);
    const at = this.options.clock.now();
    const interrupted = resumeAfterReplay(
      {
        table: this.table,
        commit: (record) => this.#commit(record),
        requeue: (task) => this.ready.add(task),
        resumeRetry: (task, delayMs) => this.#armRetry(task, delayMs),
        failed: () => this.metrics.recordEnd('failed', undefined, at),
      },
      this.options.recovery,
      at,
      unstoppable,
    );
    this.workflows.recover();
    this.webhooks.resume();
    // Told one turn later, so a subscriber attached right after createRuntime() hears it.
    setImmediate(() => {
      if (!this.events.observed) return;
      for (const seq of torn) this.events.next({ type: 'journal:torn-tail', seq, at });
      for (const { taskId, attempt } of interrupted) this.events.next({ type: 'attempt:interrupted', taskId, attempt, reason: 'crash', at });
    });
    this.#schedulePump();
  }

  #schedulePump(): void {
    if (this.#pumpQueued) return;
    this.#pumpQueued = true;
    // One turn later, not a microtask: a caller that awaited submit() can still
    // subscribe to the handle before the task starts, and a burst of submissions
    // in one turn is admitted in one pass.
    setImmediate(() => this.#pump());
  }

  readonly #canRun = (type: string): boolean => {
    const definition = this.#definitions.get(type);
    return (
      definition !== undefined &&
      (this.#runningByType.get(type) ?? 0) < definition.concurrency &&
      this.#supervision.quarantinedUntil(type) === undefined
    );
  };

  #pump(): void {
    this.#pumpQueued = false;
    const limit = this.guard?.effectiveConcurrency ?? this.options.concurrency;
    while (this.#admitting && this.#running.size < limit) {
      const task = this.ready.take(this.#canRun);
      if (task === undefined) break;
      // Everything it declares at once (locks, a token, the guard's leave), or it is
      // parked and the next one is looked at.
      const admitted = this.admission.admit(task, this.options.clock.now());
      if (admitted === false) continue;
      this.#start(task, admitted.lockWaitMs, admitted.rateLimited);
    }
  }

  #start(task: TaskRecord, lockWaitMs?: number, rateLimited = false): void {
    const definition = this.#definitions.get(task.type) as ResolvedDefinition;
    const executor = this.#executors.get(definition.kind) as Executor;
    const number = task.attempts + 1;
    const at = this.options.clock.now();
    this.#commit({
      v: JOURNAL_VERSION,
      type: 'attempt:started',
      at,
      taskId: task.id,
      attempt: number,
      ...(lockWaitMs === undefined ? {} : { lockWaitMs }),
      ...(rateLimited ? { rateLimited } : {}),
    });
    this.#runningByType.set(task.type, (this.#runningByType.get(task.type) ?? 0) + 1);
    const attempt = new Attempt(this, task, number, definition, executor);
    this.#running.set(task.id, attempt);
    // Told before the work starts, so its progress follows it; a listener that
    // cancels here leaves a pending cancel, applied once the actor exists.
    if (this.events.observed) {
      if (task.locks.length > 0) this.events.next({ type: 'lock:acquired', taskId: task.id, locks: task.locks.map((l) => l.name), waitedMs: lockWaitMs ?? 0, at });
      this.events.next({ type: 'task:started', taskId: task.id, attempt: number, taskType: task.type, at });
    }
    attempt.actor = this.#supervision.startExecution(task.type, task.id, task.timeoutMs ?? definition.timeoutMs);
    if (task.workflowId !== undefined) this.workflows.taskChanged(task);
    if (attempt.pendingCancel !== undefined && !attempt.settled) {
      this.actorOf(attempt)?.send({ type: 'cancel', reason: attempt.pendingCancel.reason });
    }
  }

  /** The execution actor's entry action: hand the attempt to its executor. */
  #launch(taskId: string): void {
    const attempt = this.#running.get(taskId);
    if (attempt === undefined) return;
    try {
      this.#execute(attempt);
    } catch (error) {
      // An executor must report through its sink, but one that throws must not take
      // the host down with it (this runs inside the actor's entry action).
      const failure = toTaskError(error, 'STEWARD_EXECUTOR_ERROR');
      queueMicrotask(() => attempt.crashed({ ...failure, message: `executor "${attempt.executor.kind}" threw: ${failure.message}` }));
    }
  }

  #execute(attempt: Attempt): void {
    const taskId = attempt.task.id;
    attempt.executor.execute(
      {
        taskId,
        type: attempt.task.type,
        attempt: attempt.number,
        input: attempt.task.input,
        definition: attempt.definition,
        dependencies: dependencyResults(this.table, attempt.task),
        steps: attempt.task.steps ?? NO_STEPS,
        signal: attempt.controller.signal,
      },
      attempt,
    );
  }

  /** The execution actor's single end. */
  #settle(context: ExecutionContext, end: ExecutionEnd): void {
    const attempt = this.#running.get(context.executionId);
    if (attempt === undefined || attempt.settled) return;
    attempt.settled = true;
    this.#running.delete(context.executionId);
    const task = attempt.task;
    this.#runningByType.set(task.type, (this.#runningByType.get(task.type) ?? 1) - 1);
    this.admission.release(task);
    const at = this.options.clock.now();
    if (attempt.interrupting) {
      this.#commit({ v: JOURNAL_VERSION, type: 'attempt:interrupted', at, taskId: task.id, attempt: attempt.number, reason: 'shutdown' });
      if (this.events.observed) {
        this.events.next({ type: 'attempt:interrupted', taskId: task.id, attempt: attempt.number, reason: 'shutdown', at });
      }
      this.#afterAttempt();
      return;
    }
    let error = attemptError(end, context, attempt.number);
    // A provider said "come back later": the whole bucket waits, not just this task.
    if (error?.retryAfterMs !== undefined && task.rateLimit !== undefined) this.admission.pause(task.rateLimit, at + error.retryAfterMs);
    let quarantineError: TaskError | undefined;
    if (context.crashed && error !== undefined) {
      this.metrics.crashed++;
      if (this.events.observed) {
        const supervisor = `type:${task.type}`;
        this.events.next({ type: 'supervisor:restarted', taskId: task.id, supervisor, restarts: this.#supervision.restartsOf(task.type) + 1, error, at });
      }
      // This crash passes the type's intensity: its supervisor will escalate, the
      // type rests, and this task stops here rather than retrying into the wall.
      if (this.#supervision.wouldQuarantine(task.type)) {
        quarantineError = taskError('STEWARD_QUARANTINED', `task type "${task.type}" crashed too often and is quarantined: ${error.message}`, false, error.stack);
        error = quarantineError;
      }
    }
    const delayMs = this.#state === 'stopped' ? undefined : retryDelay(task, attempt.definition, end, error, this.options.random);
    const retryAt = delayMs === undefined ? undefined : at + delayMs;
    this.#commit({
      v: JOURNAL_VERSION,
      type: 'attempt:ended',
      at,
      taskId: task.id,
      attempt: attempt.number,
      end,
      ...(end === 'completed' ? { result: context.result } : {}),
      ...(error === undefined ? {} : { error }),
      ...(retryAt === undefined ? {} : { retryAt }),
      ...(end === 'cancelled' && context.reason !== undefined ? { reason: context.reason } : {}),
      ...(context.crashed ? { crashed: true } : {}),
    });
    if (quarantineError !== undefined) {
      const until = this.#supervision.quarantine(task.type);
      this.options.logger.warn(`steward: task type "${task.type}" is quarantined until ${new Date(until).toISOString()} after repeated crashes`);
      if (this.events.observed) {
        this.events.next({ type: 'supervisor:quarantined', taskId: task.id, supervisor: `type:${task.type}`, taskType: task.type, until, error: quarantineError, at });
      }
    }
    if (delayMs !== undefined && error !== undefined) {
      // While stopping (without drain) the retry is journaled but not armed: the
      // task stays retrying and a restart resumes it.
      if (this.#admitting) this.#armRetry(task, delayMs);
      if (this.events.observed) {
        this.events.next({ type: 'task:retrying', taskId: task.id, attempt: attempt.number, delayMs, error, at });
      }
    } else {
      this.#finalize(task);
    }
    this.#afterAttempt();
  }

  #afterAttempt(): void {
    this.#schedulePump();
    this.#idle.poke();
  }

  #armRetry(task: TaskRecord, delayMs: number): void {
    this.#retryTimers.arm(task.id, delayMs, () => {
      if (task.status !== 'retrying') return;
      const at = this.options.clock.now();
      this.#commit({ v: JOURNAL_VERSION, type: 'task:requeued', at, taskId: task.id });
      this.ready.add(task);
      if (this.events.observed) this.events.next({ type: 'task:queued', taskId: task.id, priority: task.priority, at });
      this.#schedulePump();
    });
  }

  /** Tells everyone a task has ended: metrics, events, waiting result() calls. */
  #finalize(task: TaskRecord): void {
    const status = task.status as TerminalStatus;
    const at = task.endedAt ?? this.options.clock.now();
    const durationMs = task.startedAt === undefined ? undefined : at - task.startedAt;
    this.metrics.recordEnd(status, durationMs, at);
    // Built before anyone is told: a listener may retry the task and reset its record.
    const outcome = outcomeOf(task, status);
    if (this.events.observed) this.events.next(terminalEvent(outcome, at, durationMs, task.cancelReason));
    this.output.ended(task.id);
    if (task.webhook !== undefined) {
      this.webhooks.enqueue({ taskId: task.id }, task.webhook, `task.${status}`, { ...outcome, type: task.type, ...(task.metadata === undefined ? {} : { metadata: task.metadata }) }, this.options.idGenerator());
    }
    this.workflows.taskChanged(task);
    const waiters = this.#waiters.get(task.id);
    if (waiters !== undefined) {
      this.#waiters.delete(task.id);
      for (const waiter of waiters) waiter.resolve(outcome);
    }
  }

  #waitIdle(timeoutMs: number, drain: boolean): Promise<void> {
    return this.#idle.wait(() => this.#running.size === 0 && (!drain || (this.ready.size === 0 && this.#retryTimers.size === 0)), timeoutMs);
  }
}
