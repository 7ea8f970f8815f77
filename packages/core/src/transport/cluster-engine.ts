import type { EngineView } from '../engine/engine-view.js';
import { JOURNAL_VERSION, type JournalRecord } from '../journal/journal-record.js';
import { InvalidOptionsError, InvalidStateError, ShuttingDownError, StewardError, TaskNotFoundError } from '../model/errors.js';
import { taskError } from '../model/task-error.js';
import type { SubmitOptions } from '../model/submit-options.js';
import type { ResolvedDefinition, TaskDefinition } from '../model/task-definition.js';
import { remoteDefinition } from './remote-definition.js';
import type { TaskRecord } from '../model/task-record.js';
import { isRetryable, isTerminal, type TaskOutcome } from '../model/types.js';
import type { ClusterBackend, ControlMessage, EnqueuedTask } from './cluster-backend.js';
import { claimedTask } from './claimed-task.js';
import { ClusterGate } from './cluster-gate.js';
import { ClusterOutput } from './cluster-output.js';
import { ClusterSchedules } from './cluster-schedules.js';
import { ClusterWebhooks } from './cluster-webhooks.js';
import { ClusterWorkflows, type ClusterWorkflowsHost } from './cluster-workflows.js';
import { ClusterReplica } from './cluster-replica.js';
import { ClusterSubmissions } from './cluster-submissions.js';
import { ClusterWaits } from './cluster-waits.js';
import type { TransportNode } from './transport.js';

type Status = TaskRecord['status'];

/**
 * The engine the facade sees in cluster mode. Task state is the shared journal, folded
 * here into a replica (`table`, `events$`, `outcome`); a submission is appended to it
 * and put in the claim queue; a claimed task runs on this node's own engine (its
 * scheduling, admission, executors, timeouts, retries and steps unchanged), and what
 * that engine journals about it is appended to the shared journal, so every node sees
 * it. Everything about this node alone (its figures, supervision, admission) is the
 * node's engine's.
 */
export class ClusterEngine implements EngineView {
  readonly #local: EngineView;
  readonly #node: TransportNode;
  readonly #backend: ClusterBackend;
  readonly #replica: ClusterReplica;
  #state: 'running' | 'stopping' | 'stopped' = 'running';
  readonly #consuming = new Set<string>();
  /** Tasks this node runs now, with the attempts made before its claim (its own attempts count on from there). */
  readonly #claimed = new Map<string, number>();
  /** Cancels heard before the task was claimed here (its record may still be on its way): not started. */
  readonly #cancelled = new Set<string>();
  #pending: JournalRecord[] = [];
  readonly #readyBatch: EnqueuedTask[] = [];
  readonly #submissions: ClusterSubmissions;
  /** The newest append of this node's records, and for each task the one that holds its latest records. */
  #appended: Promise<void> = Promise.resolve();
  readonly #appendOf = new Map<string, Promise<void>>();
  readonly workflows: ClusterWorkflows;
  readonly schedules: ClusterSchedules;
  readonly #waits: ClusterWaits;
  readonly waits: EngineView['waits'];
  readonly #gate: ClusterGate;
  readonly #output: ClusterOutput;
  /** What one node does for the cluster, under a lease: firing schedules, delivering webhooks. */
  readonly #leased: ReadonlyArray<{ start(): void; freed(): void; stop(): Promise<void> }>;

  private constructor(node: TransportNode, backend: ClusterBackend) {
    this.#node = node;
    this.#local = node.engine;
    this.#backend = backend;
    this.#replica = new ClusterReplica(node.engine.options.agingMs, node.engine.options.retention);
    this.#submissions = new ClusterSubmissions({ backend, replica: this.#replica, options: node.engine.options, definitionFor: (type) => this.#definitionFor(type) });
    node.onRecord((record) => this.#share(record));
    this.#replica.onReady((task) => this.#ready(task));
    this.#waits = new ClusterWaits({ replica: this.#replica, backend, options: node.engine.options, open: () => this.#state !== 'stopped' });
    this.waits = { signal: (taskId, name, payload) => this.#waits.signal(taskId, name, payload) };
    // Locks, per-key concurrency and rate buckets are the cluster's: held in the shared store.
    this.#gate = new ClusterGate({ backend, options: node.engine.options, definitionOf: (type) => node.engine.definitionOf(type) });
    node.admitThrough(this.#gate);
    this.#output = new ClusterOutput({ backend, replica: this.#replica, maxBytes: node.engine.options.maxOutputBytes, logger: node.engine.options.logger });
    const open = () => this.#state === 'running';
    const submit = (type: string, input: unknown, options: SubmitOptions) => this.submit(type, input, options);
    this.schedules = new ClusterSchedules({ backend, replica: this.#replica, options: node.engine.options, configured: node.schedules, submit, open });
    this.#replica.onSchedule((id) => this.schedules.applied(id));
    const webhooks = new ClusterWebhooks({ backend, replica: this.#replica, options: node.engine.options, open, endedWorkflows: () => this.workflows.endedWithWebhooks() });
    this.#replica.onEnded((task) => webhooks.ended(task));
    this.#leased = [this.schedules, webhooks];
    const submitNow: ClusterWorkflowsHost['submitNow'] = (type, input, options, internal, write) => {
      if (!open()) throw new ShuttingDownError();
      return this.#submissions.submitNow(type, input, options, internal, write);
    };
    this.workflows = new ClusterWorkflows({ backend, replica: this.#replica, options: node.engine.options, submitNow, cancel: (id, reason) => this.cancel(id, reason), ended: (workflow, outcome) => webhooks.workflowEnded(workflow, outcome), open });
  }

  /** Joins the cluster: reads the shared journal, then claims tasks of the types this node defines. */
  static async connect(node: TransportNode, backend: ClusterBackend): Promise<ClusterEngine> {
    const engine = new ClusterEngine(node, backend);
    try {
      await engine.#join();
    } catch (error) {
      await backend.close().catch(() => undefined);
      throw error;
    }
    return engine;
  }

  async #join(): Promise<void> {
    const backend = this.#backend;
    await backend.follow((records) => this.#replica.apply(records));
    backend.onControl((message) => this.#control(message));
    // Progress and output are not journaled: the output of the tasks running here goes to
    // the shared store and every node, their progress to every node (the latest per task and turn).
    this.#local.events$.subscribe((event) => {
      if (event.type === 'task:output' && this.#claimed.has(event.taskId)) this.#output.capture(event);
      else if (event.type === 'task:progress' && this.#claimed.has(event.taskId)) this.#output.progress(event);
    });
    // A submitter that died between its append and its enqueue left a task nobody can claim:
    // whatever has not ended is enqueued again (the queue keeps one entry per task id).
    const open = [...this.#replica.table.tasks.values()].filter((task) => !isTerminal(task.status) && task.status !== 'waiting');
    await backend.enqueue(open.map((task) => ({ id: task.id, type: task.type, priority: task.priority })));
    this.#waits.armAll();
    for (const type of Object.keys(this.#local.options.tasks)) await this.#consume(type);
    this.workflows.recover();
    for (const service of this.#leased) service.start();
  }

  // ---- the cluster's state ---------------------------------------------------

  get table(): EngineView['table'] {
    return this.#replica.table;
  }
  get events$(): EngineView['events$'] {
    return this.#replica.events$;
  }
  get state(): EngineView['state'] {
    return this.#state;
  }
  get node(): string {
    return this.#backend.nodeId;
  }

  outcome(id: string): Promise<TaskOutcome> {
    if (this.#state === 'stopped') return Promise.reject(new ShuttingDownError(`task "${id}" did not finish before shutdown`));
    return this.#replica.outcome(id);
  }

  define(type: string, definition: TaskDefinition): void {
    this.#local.define(type, definition);
    void this.#consume(type).catch((error: unknown) => this.#local.options.logger.error(`steward: cannot claim tasks of type "${type}"`, error));
  }

  submit(type: string, input: unknown, options: SubmitOptions | undefined): { task: Readonly<TaskRecord>; durable: Promise<void> } {
    if (this.#state !== 'running') throw new ShuttingDownError();
    return this.#submissions.submit(type, input, options);
  }

  /** Cancels a task wherever it is: out of the claim queue, or stopped on the node that runs it. */
  async cancel(id: string, reason?: string): Promise<{ cancelled: boolean; status: Status }> {
    if (this.#state === 'stopped') throw new ShuttingDownError('the runtime has shut down');
    if (reason !== undefined && typeof reason !== 'string') throw new InvalidOptionsError('reason must be a string');
    const task = this.#replica.table.tasks.get(id);
    if (task === undefined) throw new TaskNotFoundError(id);
    if (isTerminal(task.status)) return { cancelled: false, status: task.status };
    await this.#backend.dequeue(id, task.type);
    // Recorded first: a node that claims it later finds it ended; the one running it is told to stop.
    await this.#backend.append([{ v: JOURNAL_VERSION, type: 'task:cancelled', at: this.#local.options.clock.now(), taskId: id, ...(reason === undefined ? {} : { reason }) }]);
    await this.#backend.broadcast({ kind: 'cancel', taskId: id, ...(reason === undefined ? {} : { reason }) });
    await this.#backend.caughtUp();
    const now = task.status as Status; // moved on by the records just applied
    return { cancelled: now === 'cancelled', status: now };
  }

  /** Queues an ended task again for the whole cluster: `task:retried` appended (the first of two at once wins), then enqueued. */
  async retry(id: string): Promise<Readonly<TaskRecord>> {
    if (this.#state !== 'running') throw new ShuttingDownError();
    const task = this.#replica.table.tasks.get(id);
    if (task === undefined) throw new TaskNotFoundError(id);
    if (!isRetryable(task.status)) throw new InvalidStateError(`task "${id}" is ${task.status}; only a failed, cancelled or timed-out task can be retried`);
    await this.#backend.append([{ v: JOURNAL_VERSION, type: 'task:retried', at: this.#local.options.clock.now(), taskId: id }]);
    await this.#backend.caughtUp();
    await this.#backend.enqueue([{ id, type: task.type, priority: task.priority }]);
    return task;
  }

  announce(event: Parameters<EngineView['announce']>[0]): void {
    this.#replica.emit(event);
  }

  async shutdown(timeoutMs: number, drain: boolean): Promise<void> {
    if (this.#state !== 'running') return;
    this.#state = 'stopping';
    // The node's own engine first: what runs here ends (or is interrupted, and its claim
    // is released for another node), then the claims and connections go.
    await Promise.all(this.#leased.map((service) => service.stop()));
    await this.#local.shutdown(timeoutMs, drain);
    this.#output.flush();
    this.workflows.stop();
    await Promise.all([this.#appended.catch(() => undefined), this.#output.settled()]);
    this.#waits.clearAll();
    await this.#gate.stop();
    await this.#backend.close();
    this.#state = 'stopped';
    this.#replica.close((id) => new ShuttingDownError(`task "${id}" did not finish before shutdown`));
  }

  // What waits and what runs in the whole cluster, from the replica.
  get queuedCount(): number { return this.#count('queued'); }
  get retryingCount(): number { return this.#count('retrying'); }
  get runningCount(): number { return this.#count('running'); }
  /** The cluster's queued tasks, best first (those this node holds parked for its admission are listed by it). */
  readyTasks(): ReturnType<EngineView['readyTasks']> {
    const parked = new Set(this.#local.admission.parked.items().map((p) => p.item.id));
    return [...this.#replica.table.tasks.values()].filter((t) => t.status === 'queued' && !parked.has(t.id)).sort((a, b) => b.rank - a.rank || a.order - b.order);
  }

  #count(status: Status): number {
    let n = 0;
    for (const task of this.#replica.table.tasks.values()) if (task.status === status) n++;
    return n;
  }

  // ---- this node's own (delegated) ---------------------------------------------

  get options(): EngineView['options'] { return this.#local.options; }
  get startedAt(): number { return this.#local.startedAt; }
  get recovery(): EngineView['recovery'] { return this.#local.recovery; }
  get journalSeq(): number { return this.#local.journalSeq; }
  get feed$(): EngineView['feed$'] { return this.#local.feed$; }
  get output(): EngineView['output'] { return this.#local.output; }
  followOutput(id: string, follow: boolean): ReturnType<NonNullable<EngineView['followOutput']>> { return this.#output.follow(id, follow, () => this.#state !== 'stopped'); }
  get metrics(): EngineView['metrics'] { return this.#local.metrics; }
  get admission(): EngineView['admission'] { return this.#local.admission; }
  get guard(): EngineView['guard'] { return this.#local.guard; }
  get throttlePeriods(): EngineView['throttlePeriods'] { return this.#local.throttlePeriods; }
  get restarts(): number { return this.#local.restarts; }
  get workerThreads(): number { return this.#local.workerThreads; }
  blockReason(type: string, key?: string): string | undefined { return this.#local.blockReason(type, key); }
  supervision(): ReturnType<EngineView['supervision']> { return this.#local.supervision(); }
  replayEvents(afterSeq: number): ReturnType<EngineView['replayEvents']> { return this.#local.replayEvents(afterSeq); }
  replayFeed(after: Parameters<EngineView['replayFeed']>[0]): ReturnType<EngineView['replayFeed']> { return this.#local.replayFeed(after); }
  /** Any type: it may be defined on another node, now or later (a submission of it waits for one). */
  isDefined(): boolean { return true; }
  definitionOf(type: string): ResolvedDefinition | undefined { return this.#local.definitionOf(type); }

  // ---- internals -------------------------------------------------------------

  /** This node's definition of `type`, or the stand-in for a type another node defines. */
  #definitionFor(type: string): ResolvedDefinition {
    return this.#local.definitionOf(type) ?? remoteDefinition(type);
  }

  async #consume(type: string): Promise<void> {
    if (this.#consuming.has(type)) return;
    this.#consuming.add(type);
    // A type's concurrency holds for the cluster, not per node.
    const limit = this.#local.definitionOf(type)?.concurrency;
    if (limit !== undefined && Number.isFinite(limit)) await this.#backend.limitType(type, limit);
    await this.#backend.consume(type, this.#local.options.concurrency, (id) => this.#runClaimed(id), (id) => this.#waits.released(id));
  }

  /** A claim: the task runs here unless the journal says it has ended (cancelled while queued, or done before a stall). */
  async #runClaimed(id: string): Promise<void> {
    // A task this node has not seen yet: its submission was appended before it was
    // enqueued, so it is on its way here (or, read up to now, not there at all).
    if (!this.#replica.table.tasks.has(id)) {
      const arrival = this.#replica.arrival(id);
      await Promise.race([arrival.arrived, this.#backend.caughtUp()]);
      arrival.forget();
    }
    // One that ran before: its steps, or its end, may have been stored a moment ago elsewhere.
    if ((this.#replica.table.tasks.get(id)?.attempts ?? 0) > 0) await this.#backend.caughtUp();
    const task = this.#replica.table.tasks.get(id);
    // Ended, or parked on a wait (a claim of it from before the wait, handed on after a stall): not run.
    if (task === undefined || isTerminal(task.status) || task.status === 'waiting' || this.#cancelled.delete(id)) return;
    // The node's engine numbers its own attempts; a task it ran before (retried since) goes on from its count there.
    this.#claimed.set(id, task.attempts - (this.#local.table.tasks.get(id)?.attempts ?? 0));
    const claimed = claimedTask(task, this.#replica.table);
    try {
      if ((await this.#node.run(claimed)) === 'suspended') this.#waits.parked(id);
    } catch (error) {
      // This node shutting down: the claim goes back for another node. Anything else
      // (a submission this node's engine refuses) would fail every claim alike: the task ends here.
      if (!(error instanceof StewardError) || error.code === 'STEWARD_SHUTTING_DOWN') throw error;
      this.#pending.push({ v: JOURNAL_VERSION, type: 'task:rejected', at: this.#local.options.clock.now(), taskId: id, error: taskError(error.code, error.message, false) });
    } finally {
      // What this node journaled about it is in the shared journal before the claim is let go.
      this.#flush();
      const appended = this.#appendOf.get(id);
      this.#appendOf.delete(id);
      this.#claimed.delete(id);
      await appended;
    }
  }

  /** A record of this node's engine: shared when it is about a task this node runs (attempts numbered on from the claim). */
  #share(record: JournalRecord): void {
    if (record.type === 'task:submitted' || !('taskId' in record) || record.taskId === undefined) return; // the node's copy of a claimed task: the cluster has its own
    const base = this.#claimed.get(record.taskId);
    if (base === undefined) return;
    // The steps a claim was given are seeded into the node's engine as records: the cluster has them already.
    if (record.type === 'step:completed' && Object.hasOwn(this.#replica.table.tasks.get(record.taskId)?.steps ?? {}, record.name)) return;
    if (record.type === 'attempt:started') this.#pending.push({ ...record, attempt: base + record.attempt, node: this.#backend.nodeId });
    else this.#pending.push('attempt' in record && typeof record.attempt === 'number' ? { ...record, attempt: base + record.attempt } : record);
    if (this.#pending.length === 1) setImmediate(() => this.#flush());
  }

  #flush(): void {
    this.#output.flush(); // before the records: a task's output is stored before its end
    if (this.#pending.length === 0) return;
    const batch = this.#pending;
    this.#pending = [];
    // Sent at once: the backend keeps the order of appends (one connection), so a claim
    // waits only for the batch that holds its own records, not for everyone's before it.
    const appended = this.#backend.append(batch);
    appended.catch(() => undefined);
    for (const record of batch) if ('taskId' in record && record.taskId !== undefined) this.#appendOf.set(record.taskId, appended);
    this.#appended = appended;
  }

  /**
   * A task a record has let run (its dependencies ended, or its wait is over): every node
   * that applies the record enqueues it (the queue keeps one entry per task id), so it
   * cannot be missed whichever node's record it was.
   */
  #ready(task: Readonly<TaskRecord>): void {
    if (this.#state === 'stopped') return;
    if (this.#readyBatch.length === 0) {
      queueMicrotask(() => {
        const batch = this.#readyBatch.splice(0);
        this.#backend.enqueue(batch).catch((error: unknown) => this.#local.options.logger.error('steward: cannot enqueue tasks that can run again (a node joining enqueues them)', error));
      });
    }
    this.#readyBatch.push({ id: task.id, type: task.type, priority: task.priority });
  }

  #control(message: ControlMessage): void {
    if (message.kind === 'progress') return this.#replica.progress(message.taskId, message.percent, message.message, message.at);
    if (message.kind === 'freed') return [this.#gate, ...this.#leased].forEach((service) => service.freed());
    if (message.kind === 'output') return this.#output.received(message.taskId, message.first, message.chunks);
    if (!this.#claimed.has(message.taskId)) {
      // It may be claimed here next: remembered for a while (a claim elsewhere never asks).
      this.#cancelled.add(message.taskId);
      if (this.#cancelled.size > 10_000) this.#cancelled.delete(this.#cancelled.values().next().value as string);
      return;
    }
    try {
      void Promise.resolve(this.#local.cancel(message.taskId, message.reason)).catch(() => undefined);
    } catch {
      // not here any more
    }
  }
}
