import { filter, type Observable } from 'rxjs';
import type { EngineView } from '../engine/engine-view.js';
import { parseEventId, type FeedEvent } from '../events/event-feed.js';
import type { SubmitOptions } from '../model/submit-options.js';
import type { RecoveryReport } from '../journal/journal.js';
import type { SupervisionNode } from '../supervision/supervision.js';
import { InvalidOptionsError, TaskFailedError, TaskNotFoundError, UnknownTaskTypeError } from '../model/errors.js';
import { describeZodError, workflowSpecSchema } from '../model/schemas.js';
import { WorkflowHandle } from './workflow-handle.js';
import { buildReport, type SummaryReport } from '../reports/summary-report.js';
import { scheduleReports } from '../reports/report-schedule.js';
import type { WorkflowSpec, WorkflowStatus } from '../workflows/workflow-types.js';
import { RUNTIME_EVENT_NAMES, type RuntimeEvent, type RuntimeEventMap, type RuntimeEventName } from '../events/events.js';
import { deliverEvents, resolveEventSubscriptionOptions, type EventSubscriptionOptions } from '../events/event-delivery.js';
import { buildMultiReport, type MultiReport } from '../reports/multi-report.js';
import { RUNTIME_DEFAULTS } from '../model/options.js';
import { followOutput } from '../output/output-follower.js';
import type { TaskDefinition } from '../model/task-definition.js';
import { TaskHandle } from './task-handle.js';
import { RuntimeSchedules } from './runtime-schedules.js';
import { toSnapshot } from '../model/task-record.js';
import { type OutputChunk, type TaskOutcome, type TaskSnapshot, type TaskStatus } from '../model/types.js';
import { buildMetrics, buildQueueStatus, type QueueStatus, type RuntimeMetrics } from './status-views.js';
import type { ListQuery, MultipleItem, ShutdownOptions, TaskCallback, WebhookHistoryEntry } from './runtime-types.js';

export type { ListQuery, MultipleItem, ShutdownOptions, TaskCallback, WebhookHistoryEntry } from './runtime-types.js';

const asyncDispose: typeof Symbol.asyncDispose = Symbol.asyncDispose ?? Symbol.for('Symbol.asyncDispose');

/**
 * The public facade: validates and delegates to a private engine. Create one
 * with {@link createRuntime}; end it with `shutdown()` or `await using`.
 */
export class Runtime extends RuntimeSchedules {
  readonly #engine: EngineView;
  #shutdown: Promise<void> | undefined;

  readonly #stopReports: (() => void) | undefined;

  /** @internal use createRuntime() */
  constructor(engine: EngineView) {
    super(engine);
    this.#engine = engine;
    const reports = engine.options.reports;
    this.#stopReports = reports === undefined ? undefined : scheduleReports(reports, engine.options.clock, engine.options.logger, (sinceMs) => this.report({ sinceMs }));
  }

  /** What recovery found in the journal when this runtime opened (all zero for a new one). */
  get recovery(): RecoveryReport {
    return this.#engine.recovery ?? { snapshotSeq: 0, replayedRecords: 0, tasks: 0, durationMs: 0 };
  }

  /** Cluster mode: this node's name in the cluster (what task snapshots show as `node`); undefined on one machine. */
  get node(): string | undefined {
    return this.#engine.node;
  }

  /** Sequence number of the newest journal record: every event emitted so far stands at or below it. */
  get journalSeq(): number {
    return this.#engine.journalSeq;
  }

  /**
   * The events of the journal records after `afterSeq`, oldest first, each with its
   * record's sequence number: what a consumer that was away missed (as far as the
   * journal still holds it; progress and output are not journaled).
   */
  async *replayEvents(afterSeq: number): AsyncIterable<{ seq: number; event: RuntimeEvent }> {
    if (!Number.isInteger(afterSeq) || afterSeq < 0) throw new InvalidOptionsError('afterSeq must be a non-negative integer');
    yield* this.#engine.replayEvents(afterSeq);
  }

  /**
   * Every event from now on, each with an id a consumer can resume after (see
   * {@link FeedEvent}): what the HTTP event stream sends. The events a journal record
   * stands for are derived from the record as it is applied, by the same function
   * {@link Runtime.replayFeed} applies to the journal, so a replayed event equals the
   * live one; the others (progress, output, waits) pass through and are not replayed.
   */
  get eventFeed$(): Observable<FeedEvent> {
    return this.#engine.feed$;
  }

  /**
   * The journaled events after `afterId` (an id from {@link Runtime.eventFeed$}, or a
   * journal sequence number), oldest first, each with the id and payload the live
   * feed gave it.
   */
  async *replayFeed(afterId: string): AsyncIterable<FeedEvent & { seq: number }> {
    const after = typeof afterId === 'string' ? parseEventId(afterId) : undefined;
    if (after === undefined) throw new InvalidOptionsError('afterId must be an event id such as "12", "12.1" or "12-0"');
    yield* this.#engine.replayFeed(after);
  }

  /**
   * Every event of the runtime, `rt.events()` with the defaults: a subscriber that
   * keeps up is handed each event as it happens; one that falls behind is fed from
   * a buffer of its own and never holds the runtime up (see {@link Runtime.events}).
   */
  get events$(): Observable<RuntimeEvent> {
    return this.events();
  }

  /**
   * Every event of the runtime, delivered to each subscriber on its own terms. By
   * default (`policy: 'drop-oldest'`) a subscriber whose callbacks use up their time
   * in a turn of the event loop gets the following events from a buffer of
   * `bufferSize` (1024), drained a slice per turn; when it is full the oldest are
   * dropped and the subscriber is told how many with a `stream:dropped` event.
   * `policy: 'block'` hands every event over synchronously and lets a slow
   * subscriber slow the runtime: for tests and cheap, must-see-all consumers.
   */
  events(options?: EventSubscriptionOptions): Observable<RuntimeEvent> {
    return deliverEvents(this.#engine.events$, resolveEventSubscriptionOptions(options), () => this.#engine.options.clock.now());
  }

  /** Defines (or redefines) a task type. */
  define(type: string, definition: TaskDefinition): this {
    this.#engine.define(type, definition);
    return this;
  }

  /**
   * Submits a task and returns its handle once the submission is acknowledged: its
   * journal record has reached LevelDB (batched: the operating system's buffers, so
   * a crash of the process loses nothing acknowledged; strict: after fsync). Submissions
   * of one turn share one write. Rejects with STEWARD_STORE_FULL or
   * STEWARD_STORE_UNAVAILABLE while the journal cannot be written.
   */
  async submit<T = unknown>(type: string, input?: unknown, options?: SubmitOptions): Promise<TaskHandle<T>> {
    const { task, durable } = this.#engine.submit(type, input, options);
    await durable;
    return new TaskHandle<T>(this.#engine, task.id, task.type);
  }

  /** Submits and returns only the task id. */
  async fireAndForget(type: string, input?: unknown, options?: SubmitOptions): Promise<string> {
    return (await this.submit(type, input, options)).id;
  }

  /** Submits; `callback` gets (null, result) or (TaskFailedError) when the task ends. Returns the task id. */
  async executeWithCallback<T = unknown>(type: string, input: unknown, callback: TaskCallback<T>, options?: SubmitOptions): Promise<string> {
    if (typeof callback !== 'function') throw new InvalidOptionsError('callback must be a function');
    const handle = await this.submit<T>(type, input, options);
    handle.result().then(
      (outcome) => {
        try {
          if (outcome.status === 'completed') callback(null, outcome.result);
          else callback(new TaskFailedError(outcome));
        } catch (error) {
          this.#engine.options.logger.error(`steward: the callback of task ${handle.id} threw`, error);
        }
      },
      () => undefined, // shutdown before the end: there is no outcome to report
    );
    return handle.id;
  }

  /** Submits, waits, and returns the result; rejects with TaskFailedError when the task does not complete. */
  async run<T = unknown>(type: string, input?: unknown, options?: SubmitOptions): Promise<T> {
    const outcome = await (await this.submit<T>(type, input, options)).result();
    if (outcome.status !== 'completed') throw new TaskFailedError(outcome);
    return outcome.result as T;
  }

  /** Runs several tasks at once and reports on them together. `options` apply to every item under its own. */
  async executeMultiple(items: MultipleItem[], options?: SubmitOptions): Promise<{ results: TaskOutcome[]; report: MultiReport }> {
    if (!Array.isArray(items)) throw new InvalidOptionsError('items must be an array of { type, input, options }');
    if (options?.idempotencyKey !== undefined) {
      throw new InvalidOptionsError('options.idempotencyKey cannot be shared by a batch; give each item its own in items[i].options');
    }
    // Checked before anything is submitted, so a bad item leaves no orphan behind.
    for (const [index, item] of items.entries()) {
      if (item === null || typeof item !== 'object') throw new InvalidOptionsError(`items.${index} must be an object`);
      if (!this.#engine.isDefined(item.type)) throw new UnknownTaskTypeError(item.type);
    }
    const startedAt = this.#engine.options.clock.now();
    const handles: TaskHandle[] = [];
    const durable: Array<Promise<void>> = [];
    try {
      // Submitted in one turn, so they share one journal write; acknowledged together.
      for (const item of items) {
        const submitted = this.#engine.submit(item.type, item.input, { ...options, ...item.options });
        handles.push(new TaskHandle(this.#engine, submitted.task.id, submitted.task.type));
        durable.push(submitted.durable);
      }
      await Promise.all(durable);
    } catch (error) {
      // All or nothing: what was submitted before the bad item is cancelled.
      for (const handle of handles) {
        try {
          this.#engine.cancel(handle.id, 'executeMultiple: another item was refused');
        } catch {
          // already ended, or the runtime is stopping
        }
      }
      throw error;
    }
    // Announced once every item is accepted: a refused batch is never announced.
    const aggregationId = this.#engine.options.idGenerator();
    this.#emit({ type: 'aggregation:started', aggregationId, taskIds: handles.map((h) => h.id), at: this.#engine.options.clock.now() });
    const results = await Promise.all(handles.map((h) => h.result()));
    const report = buildMultiReport(results, startedAt);
    this.#emit({ type: 'aggregation:completed', aggregationId, report, at: this.#engine.options.clock.now() });
    return { results, report };
  }

  /** Tells subscribers of an event that is the facade's own (not a task's or the journal's). */
  #emit(event: RuntimeEvent): void {
    this.#engine.announce(event);
  }

  /** Creates and starts a workflow in one call: phases of tasks, run as their dependencies complete. */
  async workflow(spec: WorkflowSpec): Promise<WorkflowHandle> {
    const parsed = workflowSpecSchema.safeParse(spec);
    if (!parsed.success) throw new InvalidOptionsError(describeZodError('workflow', parsed.error));
    // Checked whole before anything is journaled, so a bad spec leaves nothing behind.
    const phaseIds = new Set<string>();
    const taskIds = new Set<string>();
    for (const [p, phase] of spec.phases.entries()) {
      if (phaseIds.has(phase.id)) throw new InvalidOptionsError(`workflow.phases.${p}.id: "${phase.id}" is used twice`);
      for (const [d, dependency] of (phase.dependsOn ?? []).entries()) {
        if (!phaseIds.has(dependency)) throw new InvalidOptionsError(`workflow.phases.${p}.dependsOn.${d}: no phase "${dependency}" before this one`);
      }
      phaseIds.add(phase.id);
      for (const [t, task] of (phase.tasks ?? []).entries()) {
        if (taskIds.has(task.id)) throw new InvalidOptionsError(`workflow.phases.${p}.tasks.${t}.id: "${task.id}" is used twice`);
        if (!this.#engine.isDefined(task.type)) throw new UnknownTaskTypeError(task.type);
        taskIds.add(task.id);
      }
    }
    if (taskIds.size === 0) throw new InvalidOptionsError('workflow.phases: at least one task is needed');
    const handle = await this.createWorkflow({
      name: spec.name,
      ...(spec.metadata === undefined ? {} : { metadata: spec.metadata }),
      ...(spec.webhook === undefined ? {} : { webhook: spec.webhook }),
    });
    for (const phase of spec.phases) handle.addPhase(phase);
    return handle.start();
  }

  /** Creates a workflow to build step by step: `addPhase`, `addTask`, then `start`. */
  async createWorkflow(spec: { name: string; metadata?: Record<string, unknown>; webhook?: { url: string; secret: string } }): Promise<WorkflowHandle> {
    const workflow = await this.#engine.workflows.create(spec);
    return new WorkflowHandle(this.#engine, workflow.id, workflow.name);
  }

  /** A handle on a known workflow (also after a restart), or undefined. */
  getWorkflow(id: string): WorkflowHandle | undefined {
    const workflow = typeof id === 'string' ? this.#engine.table.workflows.get(id) : undefined;
    return workflow === undefined ? undefined : new WorkflowHandle(this.#engine, workflow.id, workflow.name);
  }

  /** Workflows, newest first. */
  listWorkflows(options: { limit?: number } = {}): WorkflowStatus[] {
    const all = [...this.#engine.table.workflows.keys()].reverse().slice(0, options?.limit ?? 100);
    return all.map((id) => this.#engine.workflows.status(id));
  }

  /** Webhook deliveries of a task or a workflow, each with every attempt (secrets left out). */
  webhookHistory(id: string): WebhookHistoryEntry[] {
    const table = this.#engine.table;
    if (typeof id !== 'string' || (!table.tasks.has(id) && !table.workflows.has(id))) throw new TaskNotFoundError(id);
    return (table.deliveriesByOwner.get(id) ?? []).flatMap((deliveryId) => {
      const d = table.deliveries.get(deliveryId);
      if (d === undefined) return [];
      return [{ deliveryId: d.id, url: d.url, state: d.state, createdAt: d.createdAt, ...(d.nextAt === undefined ? {} : { nextAt: d.nextAt }), attempts: d.attempts.map((a) => ({ ...a })) }];
    });
  }

  /** A digest of the tasks that ended in the last `sinceMs` (default a day): per type, failures, contention, restarts. */
  async report(options: { sinceMs?: number } = {}): Promise<SummaryReport> {
    const sinceMs = options?.sinceMs ?? RUNTIME_DEFAULTS.reportSinceMs;
    if (!Number.isInteger(sinceMs) || sinceMs <= 0) throw new InvalidOptionsError('options.sinceMs must be a positive integer');
    const until = this.#engine.options.clock.now();
    return buildReport(this.#engine.table, until - sinceMs, until, this.#engine.throttlePeriods);
  }

  /** The task as it is now, or undefined. */
  get(id: string): TaskSnapshot | undefined {
    const task = this.#engine.table.tasks.get(id);
    return task === undefined ? undefined : toSnapshot(task, this.#engine.options.clock.now());
  }

  /** A handle on a known task (also one recovered after a restart), or undefined. */
  task<T = unknown>(id: string): TaskHandle<T> | undefined {
    const task = this.#engine.table.tasks.get(id);
    return task === undefined ? undefined : new TaskHandle<T>(this.#engine, task.id, task.type);
  }

  /** Tasks, newest first. */
  list(query: ListQuery = {}): TaskSnapshot[] {
    if (query === null || typeof query !== 'object') throw new InvalidOptionsError('query must be an object');
    const statuses = query.status === undefined ? undefined : new Set(Array.isArray(query.status) ? query.status : [query.status]);
    const limit = query.limit ?? 100;
    const offset = query.offset ?? 0;
    if (!Number.isInteger(limit) || limit < 0) throw new InvalidOptionsError('query.limit must be a non-negative integer');
    if (!Number.isInteger(offset) || offset < 0) throw new InvalidOptionsError('query.offset must be a non-negative integer');
    const out: TaskSnapshot[] = [];
    const now = this.#engine.options.clock.now();
    let skipped = 0;
    const all = [...this.#engine.table.tasks.values()];
    for (let i = all.length - 1; i >= 0 && out.length < limit; i--) {
      const task = all[i]!;
      if (statuses !== undefined && !statuses.has(task.status)) continue;
      if (query.type !== undefined && task.type !== query.type) continue;
      if (query.workflowId !== undefined && task.workflowId !== query.workflowId) continue;
      if (skipped++ < offset) continue;
      out.push(toSnapshot(task, now));
    }
    return out;
  }

  /** Sends signal `name` with `payload` to a task (its durable wait takes it, or the first one of that name later); resolves once journaled. */
  signal(taskId: string, name: string, payload?: unknown) { return this.#engine.waits.signal(taskId, name, payload); }

  /** Cancels a task; `cancelled` is false when it had already ended. */
  async cancel(id: string, reason?: string): Promise<{ cancelled: boolean; status: TaskStatus }> {
    return this.#engine.cancel(id, reason);
  }

  /** Runs a failed, cancelled or timed-out task again, with a fresh retry budget. */
  async retry<T = unknown>(id: string): Promise<TaskHandle<T>> {
    const task = await this.#engine.retry(id);
    return new TaskHandle<T>(this.#engine, task.id, task.type);
  }

  /** What waits and what runs. */
  queueStatus(options: { limit?: number } = {}): QueueStatus {
    const limit = options?.limit ?? 100;
    if (!Number.isInteger(limit) || limit < 0) throw new InvalidOptionsError('options.limit must be a non-negative integer');
    return buildQueueStatus(this.#engine, limit);
  }

  /** The supervision tree: each supervisor, service, executor and task type, with its state and restarts. */
  supervision(): SupervisionNode {
    return this.#engine.supervision();
  }

  /** Counts, rates, durations and resource readings. */
  metrics(): RuntimeMetrics {
    return buildMetrics(this.#engine);
  }

  /** A task's captured output; with `follow`, keeps yielding until the task ends. */
  output(id: string, options: { follow?: boolean } = {}): AsyncIterable<OutputChunk> {
    return followOutput(this.#engine, id, options?.follow === true);
  }

  /**
   * Listens to one kind of event; returns the unsubscribe function. The listener is
   * paced like an `events$` subscriber; if it falls so far behind that its events are
   * dropped, that is logged (`stream:dropped` belongs to a subscription, not a kind).
   */
  on<N extends Exclude<RuntimeEventName, 'stream:dropped'>>(name: N, listener: (event: RuntimeEventMap[N]) => void): () => void {
    if (typeof listener !== 'function') throw new InvalidOptionsError('listener must be a function');
    if (typeof name !== 'string' || !RUNTIME_EVENT_NAMES.has(name)) {
      throw new InvalidOptionsError(`name must be one of ${[...RUNTIME_EVENT_NAMES].join(', ')}; got "${String(name)}"`);
    }
    const logger = this.#engine.options.logger;
    // Filtered before the buffer, so only the listener's own events take room in it.
    const events = this.#engine.events$.pipe(filter((event) => event.type === name));
    const subscription = deliverEvents(events, resolveEventSubscriptionOptions(undefined), () => this.#engine.options.clock.now()).subscribe((event) => {
      if (event.type === 'stream:dropped') {
        logger.warn(`steward: a "${name}" listener fell behind; ${event.count} of its events were dropped`);
        return;
      }
      // A throwing listener must not reach RxJS, which would rethrow it as uncaught.
      try {
        listener(event as RuntimeEventMap[N]);
      } catch (error) {
        logger.error(`steward: a "${name}" listener threw`, error);
      }
    });
    return () => subscription.unsubscribe();
  }

  /** Stops intake, lets running work finish (up to `timeoutMs`), stops the rest and releases everything. */
  shutdown(options: ShutdownOptions = {}): Promise<void> {
    if (this.#shutdown !== undefined) return this.#shutdown;
    this.#stopReports?.();
    const timeoutMs = options?.timeoutMs ?? RUNTIME_DEFAULTS.shutdownTimeoutMs;
    if (typeof timeoutMs !== 'number' || Number.isNaN(timeoutMs) || timeoutMs < 0) {
      return Promise.reject(new InvalidOptionsError('options.timeoutMs must be a non-negative number (Infinity waits for running work)'));
    }
    this.#shutdown = this.#engine.shutdown(timeoutMs, options?.drain === true);
    return this.#shutdown;
  }

  /** `await using rt = await createRuntime()` shuts down at the end of the scope. */
  [asyncDispose](): Promise<void> {
    return this.shutdown();
  }
}
