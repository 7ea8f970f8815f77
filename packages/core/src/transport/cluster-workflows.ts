import type { WorkflowCommands } from '../engine/engine-view.js';
import type { SubmitInternal } from '../engine/submission.js';
import type { JournalRecord } from '../journal/journal-record.js';
import type { TaskTable, WorkflowRecord } from '../journal/reducer.js';
import type { ResolvedRuntimeOptions } from '../model/options.js';
import type { SubmitOptions } from '../model/submit-options.js';
import type { TaskRecord } from '../model/task-record.js';
import { checkWebhookUrl } from '../webhooks/webhook-url.js';
import type { WorkflowOutcome } from '../workflows/workflow-types.js';
import { Workflows } from '../workflows/workflows.js';
import type { ClusterBackend } from './cluster-backend.js';
import type { ClusterReplica } from './cluster-replica.js';
import { OwnRecords } from './own-records.js';

/** What the cluster's workflows need from the node around them. */
export interface ClusterWorkflowsHost {
  readonly backend: ClusterBackend;
  readonly replica: ClusterReplica;
  readonly options: ResolvedRuntimeOptions;
  /** Submits a workflow's task into the replica at once (its dependents name it next); resolves once stored and enqueued. */
  submitNow(type: string, input: unknown, options: SubmitOptions, internal: SubmitInternal, write: (record: JournalRecord) => Promise<void>): { task: Readonly<TaskRecord>; stored: Promise<void> };
  cancel(taskId: string, reason: string): Promise<unknown>;
  /** A workflow ended (seen on this node): its webhook, if any, is the deliverer's. */
  ended(workflow: WorkflowRecord, outcome: WorkflowOutcome): void;
  open(): boolean;
}

/**
 * Workflows in cluster mode: the same `Workflows` service as on one machine, on every
 * node, over the replica's table. A workflow is built and started on one node: its
 * records and its tasks go to the replica at once (each call reads what the one before
 * wrote) and then to the shared journal, and `create`, `start` and `cancel` answer once
 * the store has everything written so far. Its tasks run anywhere, by the dependencies
 * between its phases; every node follows it from its tasks (status, events, `result()`).
 */
export class ClusterWorkflows implements WorkflowCommands {
  readonly #workflows: Workflows;
  readonly #records: OwnRecords;
  readonly #table: TaskTable;

  constructor(host: ClusterWorkflowsHost) {
    const { backend, replica, options } = host;
    this.#table = replica.table;
    const records = (this.#records = new OwnRecords(backend, replica, options.logger));
    this.#workflows = new Workflows({
      table: replica.table,
      now: () => options.clock.now(),
      newId: () => options.idGenerator(),
      commit: (record) => records.commit(record),
      submit: (type, input, submitOptions, internal) => {
        // With the workflow's records of the same turn: a start is stored with all its tasks, or not at all.
        const { task, stored } = host.submitNow(type, input, submitOptions, internal, (record) => records.write(record));
        records.track(stored, `a ${type} task of a workflow`);
        return task as TaskRecord;
      },
      cancel: (taskId, reason) => void host.cancel(taskId, reason).catch((error: unknown) => options.logger.warn(`steward: could not cancel task "${taskId}" of a workflow`, error)),
      isDefined: () => true, // a type may be defined on any node
      emit: (event) => replica.emit(event),
      isOpen: () => host.open(),
      checkWebhookUrl: (url) => checkWebhookUrl(url, options.webhooks.allowPrivateNetworks === true),
      ended: (workflow, outcome) => host.ended(workflow, outcome),
    });
    replica.onWorkflow((workflowId) => this.#workflows.changed(workflowId));
  }

  async create(spec: Parameters<Workflows['create']>[0]): Promise<ReturnType<Workflows['create']>> {
    const workflow = this.#workflows.create(spec);
    await this.#records.stored();
    return workflow;
  }
  addPhase(...args: Parameters<Workflows['addPhase']>): void {
    this.#workflows.addPhase(...args);
  }
  addTask(...args: Parameters<Workflows['addTask']>): void {
    this.#workflows.addTask(...args);
  }
  async start(workflowId: string): Promise<void> {
    this.#workflows.start(workflowId);
    await this.#records.stored();
  }
  /** Every workflow with a webhook that has ended, with its outcome (for a new webhook deliverer). */
  *endedWithWebhooks(): Iterable<[WorkflowRecord, WorkflowOutcome]> {
    for (const workflow of this.#table.workflows.values()) {
      if (workflow.webhook === undefined || workflow.startedAt === undefined) continue;
      const outcome = this.#workflows.endedOutcome(workflow.id);
      if (outcome !== undefined) yield [workflow, outcome];
    }
  }
  status(workflowId: string): ReturnType<Workflows['status']> {
    return this.#workflows.status(workflowId);
  }
  outcome(workflowId: string): ReturnType<Workflows['outcome']> {
    return this.#workflows.outcome(workflowId);
  }
  async cancel(workflowId: string, reason?: string): Promise<ReturnType<Workflows['cancel']>> {
    const answer = this.#workflows.cancel(workflowId, reason);
    await this.#records.stored();
    return answer;
  }

  /**
   * After joining: workflows started before are followed from their state now. Their
   * missing tasks are not submitted here (another node may be submitting them this moment).
   */
  recover(): void {
    this.#workflows.recover(false);
  }

  /** Rejects every pending `result()`: the runtime stops. */
  stop(): void {
    this.#workflows.stop();
  }
}
