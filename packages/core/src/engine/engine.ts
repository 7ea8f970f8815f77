import type { AppendReceipt } from '@steward/store';
import { InvalidOptionsError, InvalidStateError, ShuttingDownError, TaskNotFoundError } from '../model/errors.js';
import type { RuntimeEvent } from '../events/events.js';
import type { JournalRecord, NewRecord } from '../journal/journal-record.js';
import { MetricsCollector } from '../reports/metrics.js';
import type { ResolvedRuntimeOptions } from '../model/options.js';
import { ReadyQueue } from '../scheduling/ready-queue.js';
import type { Journal, RecoveryReport } from '../journal/journal.js';
import { openJournal } from './open-journal.js';
import { JournalUpkeep } from './journal-upkeep.js';
import { TaskEndings } from './task-endings.js';
import type { TaskTable } from '../journal/reducer.js';
import { resolveDefinition, type ResolvedDefinition, type TaskDefinition } from '../model/task-definition.js';
import { taskError } from '../model/task-error.js';
import type { TaskRecord } from '../model/task-record.js';
import type { SupervisionNode } from '../supervision/supervision.js';
import { TimerWheel } from '../time/timer-wheel.js';
import { prepareSubmission, type SubmitInternal } from './submission.js';
import type { SubmitOptions } from '../model/submit-options.js';
import { recoverEngine } from './recovery.js';
import { outcomeOf } from './settlement.js';
import { TaskOutput } from '../output/task-output.js';
import { recordToEvents, workflowMarks } from '../events/record-events.js';
import { EventFeed, type FeedEvent, type FeedPosition } from '../events/event-feed.js';
import { replayJournalEvents } from '../events/event-replay.js';
import { isRetryable, isTerminal, type TaskOutcome } from '../model/types.js';
import { ExecutorRegistry } from './executor-registry.js';
import { Dispatcher } from './dispatcher.js';
import { EngineEvents } from './engine-events.js';
import type { EngineView } from './engine-view.js';
import { Releasers } from './releasers.js';
import { type Services, wireServices } from './services.js';

/**
 * The private engine behind the Runtime facade. It holds the task table (through the
 * journal), the ready queue and the definitions, takes the public commands (define,
 * submit, cancel, retry, shutdown) and is the one place that changes state: every
 * change goes through `commit`, which journals the record and folds it into the
 * table with the same reducer replay uses, and every event goes out through `emit`.
 * The attempt path is the dispatcher's; the services around it are made in
 * `wireServices`; shutdown runs the releasers each resource registered when made.
 */
export class Engine implements EngineView {
  readonly options: ResolvedRuntimeOptions;
  readonly table: TaskTable;
  readonly ready = new ReadyQueue<TaskRecord>();
  readonly #events = new EngineEvents();
  readonly events$ = this.#events.events$;
  readonly emit = this.#events.emit;
  /** Every event with a resumable id; a journal record's events are derived from the record as it is applied. */
  readonly #feed = new EventFeed(this.events$, () => this.journalSeq);
  readonly feed$ = this.#feed.items$;
  readonly metrics = new MetricsCollector();
  readonly startedAt: number;
  recovery: RecoveryReport | undefined;
  /** Captured output of every task. */
  readonly output: TaskOutput;
  readonly #journal: Journal;
  readonly #definitions = new Map<string, ResolvedDefinition>();
  readonly #executors: ExecutorRegistry;
  readonly #endings: TaskEndings;
  readonly #upkeep: JournalUpkeep;
  readonly #releasers: Releasers;
  readonly #services: Services;
  readonly #dispatcher: Dispatcher;
  #state: 'running' | 'stopping' | 'stopped' = 'running';

  /** Opens the journal, builds the engine and recovers what the journal holds. */
  static async create(options: ResolvedRuntimeOptions): Promise<Engine> {
    const events: { emit?: (event: RuntimeEvent) => void } = {};
    const { journal, torn } = await openJournal(options, events);
    let engine: Engine;
    try {
      engine = new Engine(options, journal);
    } catch (error) {
      // A bad `tasks` entry, say: the directory must not stay locked for the life of the process.
      if (options.store === undefined) await journal.store.close().catch(() => undefined);
      throw error;
    }
    events.emit = engine.emit;
    try {
      // Defined here, not in the constructor: a bad entry must also stop what the engine started (its timers).
      for (const [type, definition] of Object.entries(options.tasks)) engine.define(type, definition);
      engine.recovery = await recoverEngine(engine.#journal, torn, {
        options,
        table: engine.table,
        commit: (record) => engine.commit(record),
        requeue: (task) => engine.ready.add(task),
        resumeRetry: (task, delayMs) => engine.#dispatcher.armRetry(task, delayMs),
        failed: () => engine.metrics.recordEnd('failed', undefined, options.clock.now()),
        reaperOf: (kind) => engine.#executors.get(kind)?.reaper,
        snapshotFailed: (error, consequence) => engine.#upkeep.snapshotFailed(error, consequence),
        resumeServices: () => {
          engine.#services.workflows.recover();
          engine.#services.schedules.recover();
          engine.#services.webhooks.resume();
          engine.#dispatcher.waits.recover();
          engine.#dispatcher.schedulePump();
        },
        emit: engine.emit,
      });
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
    this.startedAt = options.clock.now();
    const releasers = (this.#releasers = new Releasers(options.logger));
    releasers.add('events', () => this.#events.complete());
    this.output = new TaskOutput(journal.persistent ? journal.store : undefined, options.maxOutputBytes);
    const upkeep = (this.#upkeep = new JournalUpkeep(journal, options, this.output, this.emit, () => this.#state === 'stopped'));
    releasers.add('journal', () => upkeep.close(this.recovery !== undefined));
    const executors = (this.#executors = new ExecutorRegistry(options, (error) => this.#services.supervision.executorFailed('worker', error)));
    releasers.add('executors', () => executors.closeAll());
    const wheel = new TimerWheel(options.clock);
    releasers.add('timers', () => wheel.clear());
    // The services call the dispatcher only once the engine is running, so it is made after them.
    this.#services = wireServices(options, wheel, {
      table: this.table,
      launch: (id) => this.#dispatcher.launch(id),
      stop: (id, end) => this.#dispatcher.stop(id, end),
      settle: (context, end) => this.#dispatcher.settle(context, end),
      restartJournal: () => this.#journal.store.flush(),
      restartExecutor: (kind) => this.#executors.get(kind)?.restart?.(),
      wake: () => this.#dispatcher.schedulePump(),
      requeue: (task) => this.ready.add(task),
      lockTimedOut: (task) => {
        const error = taskError('STEWARD_LOCK_TIMEOUT', `waited more than ${task.lockTimeoutMs} ms for its locks (${task.locks.map((l) => l.name).join(', ')})`, false);
        this.commit({ type: 'task:rejected', at: this.options.clock.now(), taskId: task.id, error });
        this.#endings.ended(task);
      },
      commit: (record) => void this.commit(record),
      emit: this.emit,
      submit: (type, input, submitOptions, internal) => this.submit(type, input, submitOptions, internal).task,
      cancel: (taskId, reason) => void this.cancel(taskId, reason),
      isDefined: (type) => this.#definitions.has(type),
      state: () => this.#state,
    }, releasers);
    journal.onWriteFailed = (error) => this.#services.supervision.serviceFailed('journal', error);
    const { metrics, output } = this;
    const { webhooks, workflows, tracing } = this.#services;
    this.#endings = new TaskEndings({ options, metrics, output, webhooks, workflows, tracing, emit: this.emit, observed: () => this.#events.observed });
    this.#dispatcher = new Dispatcher(
      {
        options,
        table: this.table,
        ready: this.ready,
        output: this.output,
        metrics: this.metrics,
        definitions: this.#definitions,
        executors: executors.byKind,
        commit: (record) => this.commit(record),
        emit: this.emit,
        finalize: (task) => this.#endings.ended(task),
        state: () => this.#state,
      },
      this.#services,
      wheel,
    );
  }

  // ---- what the facade reads (EngineView) ---------------------------------

  get state(): 'running' | 'stopping' | 'stopped' {
    return this.#state;
  }
  get admission(): Services['admission'] {
    return this.#services.admission;
  }
  get guard(): Services['guard'] {
    return this.#services.guard;
  }
  get workflows(): Services['workflows'] {
    return this.#services.workflows;
  }
  get schedules(): Services['schedules'] { return this.#services.schedules; }
  get throttlePeriods(): Services['throttlePeriods'] { return this.#services.throttlePeriods; }
  get waits(): Dispatcher['waits'] { return this.#dispatcher.waits; }
  get runningCount(): number { return this.#dispatcher.runningCount; }
  get retryingCount(): number { return this.#dispatcher.retryingCount; }
  /** Queued tasks: ready, and parked on a lock, a bucket or the guard. */
  get queuedCount(): number {
    return this.ready.size + this.#services.admission.parked.size;
  }
  get restarts(): number { return this.#services.supervision.restarts; }
  get workerThreads(): number { return this.#executors.workerThreads; }
  get journalSeq(): number { return this.#journal.store.lastSeq; }
  readyTasks(): readonly TaskRecord[] {
    return this.ready.ordered();
  }
  blockReason(type: string, key?: string): string | undefined {
    return this.#dispatcher.blockReason(type, key);
  }
  supervision(): SupervisionNode {
    return this.#services.supervision.view();
  }
  async *replayEvents(afterSeq: number): AsyncIterable<{ seq: number; event: RuntimeEvent }> {
    for await (const { seq, event } of this.replayFeed({ seq: afterSeq })) yield { seq, event };
  }
  replayFeed(after: FeedPosition): AsyncIterable<FeedEvent & { seq: number }> {
    return replayJournalEvents(this.#journal.store, this.table.agingMs, after);
  }
  isDefined(type: string): boolean {
    return this.#definitions.has(type);
  }
  definitionOf(type: string): ResolvedDefinition | undefined {
    return this.#definitions.get(type);
  }
  announce(event: RuntimeEvent): void {
    this.emit(event);
  }

  // ---- commands ------------------------------------------------------------

  define(type: string, definition: TaskDefinition): void {
    this.#assertOpen();
    const resolved = resolveDefinition(type, definition, this.options.priorities, this.#executors.customKinds);
    if (resolved.rateLimit !== undefined && !Object.hasOwn(this.options.rateLimits, resolved.rateLimit)) {
      throw new InvalidOptionsError(`definition "${type}".rateLimit: no bucket "${resolved.rateLimit}" in rateLimits`);
    }
    this.#executors.get(resolved.kind)?.validate?.(type, definition);
    this.#executors.prepare(resolved.kind);
    this.#services.supervision.defineType(type, resolved.kind, { ...this.options.supervision, ...definition.supervision });
    this.#definitions.set(type, resolved);
    // Tasks of this type may have been waiting for it (recovered before it was defined).
    this.#dispatcher.schedulePump();
  }

  /** Journals a new task and queues it (or finds the one its idempotency key names); `internal`: it belongs to a workflow. */
  submit(type: string, input: unknown, options: SubmitOptions | undefined, internal?: SubmitInternal): { task: TaskRecord; durable: Promise<void> } {
    this.#assertOpen();
    const waiting = this.queuedCount + this.#dispatcher.retryingCount + this.table.waiting;
    const prepared = prepareSubmission(type, input, options, { definitions: this.#definitions, table: this.table, waiting, runtime: this.options }, internal);
    // Not durable before the first submission of the same key is.
    if ('existing' in prepared) return { task: prepared.existing, durable: this.#journal.durableThroughLast() };
    // While the journal cannot be written, nothing new is taken on (or held in memory).
    const failure = this.#journal.writeFailure;
    if (failure !== undefined) throw failure;
    const at = this.options.clock.now();
    const { task, receipt } = this.commit({ type: 'task:submitted', at, task: prepared.task });
    const created = task as TaskRecord;
    this.metrics.submitted++;
    this.#services.tracing?.submitted(created);
    this.emit({ type: 'task:submitted', taskId: created.id, taskType: type, priority: created.priority, at });
    this.#placed(created, at);
    return { task: created, durable: receipt.durable };
  }

  cancel(id: string, reason?: string): { cancelled: boolean; status: TaskRecord['status'] } {
    if (this.#state === 'stopped') throw new ShuttingDownError('the runtime has shut down');
    if (reason !== undefined && typeof reason !== 'string') throw new InvalidOptionsError('reason must be a string');
    const task = this.#taskOrThrow(id);
    if (isTerminal(task.status)) return { cancelled: false, status: task.status };
    const running = this.#dispatcher.cancelRunning(id, reason);
    // A cancel sent to the actor settles synchronously, so the status is final by now.
    const status = task.status as TaskRecord['status'];
    if (running !== false) return { cancelled: running === 'pending' || status === 'cancelled', status };
    this.ready.remove(task);
    this.#services.admission.forget(task);
    this.#dispatcher.clearRetry(id);
    this.commit({ type: 'task:cancelled', at: this.options.clock.now(), taskId: id, reason });
    this.#endings.ended(task);
    this.#dispatcher.schedulePump();
    return { cancelled: true, status: task.status };
  }

  retry(id: string): TaskRecord {
    this.#assertOpen();
    const task = this.#taskOrThrow(id);
    if (!isRetryable(task.status)) {
      throw new InvalidStateError(`task "${id}" is ${task.status}; only a failed, cancelled or timed-out task can be retried`);
    }
    const at = this.options.clock.now();
    this.commit({ type: 'task:retried', at, taskId: id });
    this.metrics.retried++;
    this.#placed(task, at);
    return task;
  }

  outcome(id: string): Promise<TaskOutcome> {
    const task = this.#taskOrThrow(id);
    if (isTerminal(task.status)) return Promise.resolve(outcomeOf(task, task.status));
    if (this.#state === 'stopped') return Promise.reject(new ShuttingDownError(`task "${id}" did not finish before shutdown`));
    return this.#endings.wait(id);
  }

  /** Stops intake; lets running work (and with `drain`, queued work) finish for up to `timeoutMs`, then stops the rest and releases everything. */
  async shutdown(timeoutMs: number, drain: boolean): Promise<void> {
    if (this.#state !== 'running') return;
    this.#state = 'stopping';
    if (!drain) this.#dispatcher.admitting = false;
    await this.#dispatcher.waitIdle(timeoutMs, drain);
    this.#dispatcher.interruptAll();
    this.#state = 'stopped';
    this.#endings.rejectAll((id) => new ShuttingDownError(`task "${id}" did not finish before shutdown`));
    await this.#releasers.releaseAll();
  }

  /** Journals a record and folds it into the table; acts on the tasks it moved on. */
  commit(record: NewRecord): { task: TaskRecord | undefined; receipt: AppendReceipt } {
    // While someone follows the feed: the record's events, from the state it leaves (and the workflows' before it).
    const marks = this.#feed.observed ? workflowMarks(record as JournalRecord, this.table) : undefined;
    const committed = this.#journal.commit(record);
    if (marks !== undefined) this.#feed.record(committed.receipt.lastSeq, recordToEvents(record as JournalRecord, this.table, this.table.changed, marks));
    // Tasks a dependency's end moved on (queued, or failed in cascade).
    if (this.table.changed.length > 0) {
      for (const task of this.table.changed.splice(0)) this.#placed(task, record.at);
    }
    this.#upkeep.afterCommit();
    return committed;
  }

  // ---- internals -------------------------------------------------------------

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
      this.emit({ type: 'task:queued', taskId: task.id, priority: task.priority, at });
      this.#dispatcher.schedulePump();
      this.#services.workflows.taskChanged(task);
    } else if (isTerminal(task.status)) {
      this.#endings.ended(task);
    }
  }
}
