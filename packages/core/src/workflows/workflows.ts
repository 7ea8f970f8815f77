import { InvalidOptionsError, InvalidStateError, ShuttingDownError, UnknownTaskTypeError, WorkflowNotFoundError } from '../model/errors.js';
import type { RuntimeEvent } from '../events/events.js';
import type { NewRecord } from '../journal/journal-record.js';
import type { TaskTable, WorkflowRecord } from '../journal/reducer.js';
import { describeZodError, workflowCreateSchema, workflowPhaseSchema, workflowTaskSchema } from '../model/schemas.js';
import type { SubmitOptions } from '../model/submit-options.js';
import type { TaskRecord } from '../model/task-record.js';
import { isTerminal } from '../model/types.js';
import type { PhaseState, WorkflowFailedTask, WorkflowOutcome, WorkflowPhaseInput, WorkflowStatus, WorkflowTaskInput } from './workflow-types.js';

/** What the workflow service needs from the engine. */
export interface WorkflowHost {
  readonly table: TaskTable;
  now(): number;
  newId(): string;
  commit(record: NewRecord): void;
  submit(type: string, input: unknown, options: SubmitOptions, internal: { workflowId: string; workflowTaskId: string }): TaskRecord;
  cancel(taskId: string, reason: string): void;
  isDefined(type: string): boolean;
  emit(event: RuntimeEvent): void;
  isOpen(): boolean;
  checkWebhookUrl(url: string): string | undefined;
  /** The workflow ended: its webhook, if any, gets the outcome. */
  ended(workflow: WorkflowRecord, outcome: WorkflowOutcome): void;
}

interface Tracking {
  readonly started: Set<string>;
  readonly completed: Set<string>;
  ended: boolean;
}

function invalid(path: string, error: { issues: unknown[] } & Parameters<typeof describeZodError>[1]): never {
  throw new InvalidOptionsError(describeZodError(path, error));
}

/**
 * Workflows: phases of tasks with dependencies between phases. The spec is journaled
 * as it is built; `start` submits every task at once, each depending on the tasks of
 * the phases its phase depends on, so the dependency machinery runs the phases in
 * order and a failure fails what comes after it. A workflow's state is derived from
 * its tasks, so recovery needs nothing more than the tasks and the spec.
 */
export class Workflows {
  readonly #host: WorkflowHost;
  readonly #tracking = new Map<string, Tracking>();
  readonly #waiters = new Map<string, Array<{ resolve: (o: WorkflowOutcome) => void; reject: (e: Error) => void }>>();

  constructor(host: WorkflowHost) {
    this.#host = host;
  }

  create(spec: { name: string; metadata?: Record<string, unknown>; webhook?: { url: string; secret: string } }): WorkflowRecord {
    this.#assertOpen();
    const parsed = workflowCreateSchema.safeParse(spec);
    if (!parsed.success) invalid('workflow', parsed.error);
    if (spec.webhook !== undefined) {
      const problem = this.#host.checkWebhookUrl(spec.webhook.url);
      if (problem !== undefined) throw new InvalidOptionsError(`workflow.webhook.url ${problem}`);
    }
    const workflowId = this.#host.newId();
    this.#host.commit({
      type: 'workflow:created',
      at: this.#host.now(),
      workflowId,
      name: spec.name,
      ...(spec.metadata === undefined ? {} : { metadata: spec.metadata }),
      ...(spec.webhook === undefined ? {} : { webhook: { url: spec.webhook.url, secret: spec.webhook.secret } }),
    });
    return this.get(workflowId);
  }

  addPhase(workflowId: string, phase: WorkflowPhaseInput): void {
    const workflow = this.#editable(workflowId);
    const parsed = workflowPhaseSchema.safeParse(phase);
    if (!parsed.success) invalid('phase', parsed.error);
    if (workflow.phases.some((p) => p.id === phase.id)) throw new InvalidOptionsError(`phase.id: workflow already has a phase "${phase.id}"`);
    for (const [index, dependency] of (phase.dependsOn ?? []).entries()) {
      // Only phases added before can be named, so the phases always form a DAG.
      if (!workflow.phases.some((p) => p.id === dependency)) {
        throw new InvalidOptionsError(`phase.dependsOn.${index}: no phase "${dependency}" before this one (phases depend on earlier phases only)`);
      }
    }
    for (const task of phase.tasks ?? []) this.#checkTask(workflow, phase.id, task, [phase]);
    const at = this.#host.now();
    this.#host.commit({ type: 'workflow:phase-added', at, workflowId, phase: { id: phase.id, dependsOn: [...new Set(phase.dependsOn ?? [])] } });
    for (const task of phase.tasks ?? []) this.#commitTask(workflowId, phase.id, task);
  }

  addTask(workflowId: string, phaseId: string, task: WorkflowTaskInput): void {
    const workflow = this.#editable(workflowId);
    if (!workflow.phases.some((p) => p.id === phaseId)) throw new InvalidOptionsError(`phaseId: workflow has no phase "${phaseId}"`);
    this.#checkTask(workflow, phaseId, task, []);
    this.#commitTask(workflowId, phaseId, task);
  }

  start(workflowId: string): void {
    const workflow = this.#editable(workflowId);
    if (workflow.tasks.length === 0) throw new InvalidStateError(`workflow "${workflowId}" has no task to run`);
    for (const task of workflow.tasks) if (!this.#host.isDefined(task.type)) throw new UnknownTaskTypeError(task.type);
    this.#host.commit({ type: 'workflow:started', at: this.#host.now(), workflowId });
    this.#host.emit({ type: 'workflow:started', workflowId, name: workflow.name, at: this.#host.now() });
    this.#tracking.set(workflowId, { started: new Set(), completed: new Set(), ended: false });
    try {
      this.#submitMissing(workflow);
    } catch (error) {
      // A task refused (a full queue, say): the workflow does not stay half started. It
      // is cancelled, with the tasks it had submitted, and the refusal is the answer.
      try {
        this.cancel(workflowId, `start failed: ${error instanceof Error ? error.message : String(error)}`);
      } catch {
        // The cancel cannot be written either (the runtime is stopping): the refusal is still the answer.
      }
      throw error;
    }
    this.#track(workflow);
  }

  cancel(workflowId: string, reason = 'workflow cancelled'): { cancelled: boolean; status: string } {
    this.#assertOpen();
    const workflow = this.get(workflowId);
    const before = this.status(workflowId).status;
    if (before === 'completed' || before === 'failed' || before === 'cancelled') return { cancelled: false, status: before };
    this.#host.commit({ type: 'workflow:cancelled', at: this.#host.now(), workflowId, reason });
    this.#host.emit({ type: 'workflow:cancelled', workflowId, reason, at: this.#host.now() });
    // Dependents first would fail by dependency; cancelling in reverse submission order keeps each cancelled.
    for (const taskId of [...workflow.taskIds.values()].reverse()) {
      const task = this.#host.table.tasks.get(taskId);
      if (task !== undefined && !isTerminal(task.status)) this.#host.cancel(taskId, reason);
    }
    this.#track(workflow);
    return { cancelled: true, status: this.status(workflowId).status };
  }

  get(workflowId: string): WorkflowRecord {
    const workflow = typeof workflowId === 'string' ? this.#host.table.workflows.get(workflowId) : undefined;
    if (workflow === undefined) throw new WorkflowNotFoundError(workflowId);
    return workflow;
  }

  has(workflowId: string): boolean {
    return this.#host.table.workflows.has(workflowId);
  }

  status(workflowId: string): WorkflowStatus {
    const workflow = this.get(workflowId);
    const tasks = this.#host.table.tasks;
    const phases = workflow.phases.map((phase) => {
      const own = workflow.tasks.filter((t) => t.phaseId === phase.id);
      const records = own.map((t) => {
        const id = workflow.taskIds.get(t.id);
        return id === undefined ? undefined : tasks.get(id);
      });
      const completed = records.filter((r) => r?.status === 'completed').length;
      return { id: phase.id, status: this.#phaseState(workflow, records, completed), completed, total: own.length, dependsOn: [...phase.dependsOn] };
    });
    const failedTasks: WorkflowFailedTask[] = [];
    let completed = 0;
    let ended = 0;
    let endedAt = 0;
    for (const spec of workflow.tasks) {
      const id = workflow.taskIds.get(spec.id);
      const task = id === undefined ? undefined : tasks.get(id);
      if (id === undefined && workflow.cancelledAt !== undefined) {
        ended++; // cancelled before it was submitted (a start that was refused)
        endedAt = Math.max(endedAt, workflow.cancelledAt);
        continue;
      }
      if (task === undefined || !isTerminal(task.status)) continue;
      ended++;
      endedAt = Math.max(endedAt, task.endedAt ?? 0);
      if (task.status === 'completed') completed++;
      else failedTasks.push({ id: spec.id, taskId: task.id, phaseId: spec.phaseId, status: task.status, ...(task.error === undefined ? {} : { error: task.error }) });
    }
    const total = workflow.tasks.length;
    let status: WorkflowStatus['status'];
    if (workflow.startedAt === undefined) status = workflow.cancelledAt === undefined ? 'pending' : 'cancelled';
    else if (ended < total) status = 'running';
    else if (completed === total) status = 'completed';
    else status = workflow.cancelledAt === undefined ? 'failed' : 'cancelled';
    const done = status === 'completed' || status === 'failed' || status === 'cancelled';
    return {
      id: workflow.id,
      name: workflow.name,
      status,
      progress: total === 0 ? 0 : Math.round((completed / total) * 1_000) / 10,
      phases,
      failedTasks,
      tasks: Object.fromEntries(workflow.taskIds),
      createdAt: workflow.createdAt,
      ...(workflow.startedAt === undefined ? {} : { startedAt: workflow.startedAt }),
      ...(done ? { endedAt: workflow.cancelledAt !== undefined && workflow.startedAt === undefined ? workflow.cancelledAt : endedAt } : {}),
      ...(workflow.metadata === undefined ? {} : { metadata: workflow.metadata }),
    };
  }

  /** A workflow's outcome if it has ended, else undefined. */
  endedOutcome(workflowId: string): WorkflowOutcome | undefined {
    const status = this.status(workflowId);
    return status.status === 'completed' || status.status === 'failed' || status.status === 'cancelled' ? this.#outcomeOf(status) : undefined;
  }

  outcome(workflowId: string): Promise<WorkflowOutcome> {
    const ended = this.endedOutcome(workflowId);
    if (ended !== undefined) return Promise.resolve(ended);
    if (!this.#host.isOpen()) return Promise.reject(new ShuttingDownError(`workflow "${workflowId}" did not finish before shutdown`));
    return new Promise((resolve, reject) => {
      const list = this.#waiters.get(workflowId) ?? [];
      list.push({ resolve, reject });
      this.#waiters.set(workflowId, list);
    });
  }

  /**
   * A task changed status: its workflow may have moved on (phases started or completed,
   * the end). A workflow started elsewhere (another node of a cluster) is followed from
   * here on, as after a recovery.
   */
  taskChanged(task: TaskRecord): void {
    if (task.workflowId !== undefined) this.changed(task.workflowId);
  }

  /** A workflow may have moved (one of its tasks did, or it was started or cancelled, perhaps elsewhere). */
  changed(workflowId: string): void {
    const workflow = this.#host.table.workflows.get(workflowId);
    if (workflow === undefined) return;
    if (workflow.startedAt !== undefined && !this.#tracking.has(workflow.id)) this.#follow(workflow);
    this.#track(workflow);
  }

  /** After recovery: finish starting what a crash cut short (unless `resubmit` is false), and know what was already told. */
  recover(resubmit = true): void {
    for (const workflow of this.#host.table.workflows.values()) {
      if (workflow.startedAt === undefined) continue;
      this.#follow(workflow);
      if (resubmit && workflow.cancelledAt === undefined) this.#submitMissing(workflow);
    }
  }

  /** Tracks a started workflow from its state now: what it has already done is not told again. */
  #follow(workflow: WorkflowRecord): void {
    const status = this.status(workflow.id);
    this.#tracking.set(workflow.id, {
      started: new Set(status.phases.filter((p) => p.status !== 'waiting' && p.status !== 'pending').map((p) => p.id)),
      completed: new Set(status.phases.filter((p) => p.status === 'completed').map((p) => p.id)),
      ended: status.status !== 'running',
    });
  }

  /** Rejects every pending `result()`: the runtime stops. */
  stop(): void {
    for (const [id, waiters] of this.#waiters) for (const waiter of waiters) waiter.reject(new ShuttingDownError(`workflow "${id}" did not finish before shutdown`));
    this.#waiters.clear();
  }

  #assertOpen(): void {
    if (!this.#host.isOpen()) throw new ShuttingDownError();
  }

  #editable(workflowId: string): WorkflowRecord {
    this.#assertOpen();
    const workflow = this.get(workflowId);
    if (workflow.startedAt !== undefined) throw new InvalidStateError(`workflow "${workflowId}" has started; it can no longer change`);
    if (workflow.cancelledAt !== undefined) throw new InvalidStateError(`workflow "${workflowId}" was cancelled`);
    return workflow;
  }

  #checkTask(workflow: WorkflowRecord, phaseId: string, task: WorkflowTaskInput, pendingPhases: WorkflowPhaseInput[]): void {
    const parsed = workflowTaskSchema.safeParse(task);
    if (!parsed.success) invalid('task', parsed.error);
    const taken = workflow.tasks.some((t) => t.id === task.id) || pendingPhases.some((p) => (p.tasks ?? []).filter((t) => t.id === task.id).length > 1);
    if (taken) throw new InvalidOptionsError(`task.id: workflow already has a task "${task.id}" (phase ${phaseId})`);
    if (!this.#host.isDefined(task.type)) throw new UnknownTaskTypeError(task.type);
  }

  #commitTask(workflowId: string, phaseId: string, task: WorkflowTaskInput): void {
    this.#host.commit({
      type: 'workflow:task-added',
      at: this.#host.now(),
      workflowId,
      task: { id: task.id, phaseId, type: task.type, ...(task.input === undefined ? {} : { input: task.input }), ...(task.options === undefined ? {} : { options: task.options as Record<string, unknown> }) },
    });
  }

  /** Submits, in phase order, every task of a started workflow not submitted yet. */
  #submitMissing(workflow: WorkflowRecord): void {
    for (const phase of workflow.phases) {
      const upstream = new Set(phase.dependsOn);
      const dependsOn = workflow.tasks.filter((t) => upstream.has(t.phaseId)).map((t) => workflow.taskIds.get(t.id) as string);
      for (const spec of workflow.tasks.filter((t) => t.phaseId === phase.id)) {
        if (workflow.taskIds.has(spec.id)) continue;
        this.#host.submit(spec.type, spec.input, { ...(spec.options as SubmitOptions | undefined), dependsOn }, { workflowId: workflow.id, workflowTaskId: spec.id });
      }
    }
  }

  #phaseState(workflow: WorkflowRecord, records: Array<TaskRecord | undefined>, completed: number): PhaseState {
    if (workflow.startedAt === undefined) return workflow.cancelledAt === undefined ? 'pending' : 'cancelled';
    if (completed === records.length) return 'completed';
    // A task of a cancelled workflow that was never submitted (its start was refused) counts as cancelled.
    const ended = records.filter((r) => (r === undefined ? workflow.cancelledAt !== undefined : isTerminal(r.status)));
    if (ended.length === records.length) return ended.every((r) => r === undefined || r.status === 'completed' || r.status === 'cancelled') ? 'cancelled' : 'failed';
    if (records.some((r) => r !== undefined && r.status !== 'waiting')) return 'running';
    return 'waiting';
  }

  /** Tells what moved since last time: phases started and completed, and the end. */
  #track(workflow: WorkflowRecord): void {
    const tracking = this.#tracking.get(workflow.id);
    if (tracking === undefined) return;
    const status = this.status(workflow.id);
    const at = this.#host.now();
    for (const phase of status.phases) {
      if (phase.status !== 'waiting' && phase.status !== 'pending' && !tracking.started.has(phase.id)) {
        tracking.started.add(phase.id);
        this.#host.emit({ type: 'workflow:phase-started', workflowId: workflow.id, phaseId: phase.id, at });
      }
      if (phase.status === 'completed' && !tracking.completed.has(phase.id)) {
        tracking.completed.add(phase.id);
        this.#host.emit({ type: 'workflow:phase-completed', workflowId: workflow.id, phaseId: phase.id, at });
      }
    }
    const done = status.status === 'completed' || status.status === 'failed' || status.status === 'cancelled';
    if (!done) {
      tracking.ended = false; // a task retried by hand brings the workflow back
      return;
    }
    if (tracking.ended) return;
    tracking.ended = true;
    if (status.status === 'completed') this.#host.emit({ type: 'workflow:completed', workflowId: workflow.id, durationMs: (status.endedAt ?? at) - (workflow.startedAt ?? at), at });
    else if (status.status === 'failed') this.#host.emit({ type: 'workflow:failed', workflowId: workflow.id, failedTasks: status.failedTasks, at });
    const outcome = this.#outcomeOf(status);
    this.#host.ended(workflow, outcome);
    const waiters = this.#waiters.get(workflow.id);
    if (waiters !== undefined) {
      this.#waiters.delete(workflow.id);
      for (const waiter of waiters) waiter.resolve(outcome);
    }
  }

  #outcomeOf(status: WorkflowStatus): WorkflowOutcome {
    const workflow = this.get(status.id);
    const results: Record<string, unknown> = {};
    for (const [id, taskId] of workflow.taskIds) {
      const task = this.#host.table.tasks.get(taskId);
      if (task?.status === 'completed') results[id] = task.result;
    }
    return {
      workflowId: status.id,
      status: status.status as WorkflowOutcome['status'],
      results,
      failedTasks: status.failedTasks,
      endedAt: status.endedAt ?? this.#host.now(),
    };
  }
}
