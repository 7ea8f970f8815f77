import type { WorkflowCommands } from '../engine/engine-view.js';
import type { SubmitInternal } from '../engine/submission.js';
import { InvalidOptionsError } from '../model/errors.js';
import type { ResolvedRuntimeOptions } from '../model/options.js';
import type { SubmitOptions } from '../model/submit-options.js';
import type { TaskRecord } from '../model/task-record.js';
import { checkWebhookUrl } from '../webhooks/webhook-url.js';
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
  submitNow(type: string, input: unknown, options: SubmitOptions, internal: SubmitInternal): { task: Readonly<TaskRecord>; stored: Promise<void> };
  cancel(taskId: string, reason: string): Promise<unknown>;
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

  constructor(host: ClusterWorkflowsHost) {
    const { backend, replica, options } = host;
    const records = (this.#records = new OwnRecords(backend, replica, options.logger));
    this.#workflows = new Workflows({
      table: replica.table,
      now: () => options.clock.now(),
      newId: () => options.idGenerator(),
      commit: (record) => records.commit(record),
      submit: (type, input, submitOptions, internal) => {
        const { task, stored } = host.submitNow(type, input, submitOptions, internal);
        records.track(stored, `a ${type} task of a workflow`);
        return task as TaskRecord;
      },
      cancel: (taskId, reason) => void host.cancel(taskId, reason).catch((error: unknown) => options.logger.warn(`steward: could not cancel task "${taskId}" of a workflow`, error)),
      isDefined: () => true, // a type may be defined on any node
      emit: (event) => replica.emit(event),
      isOpen: () => host.open(),
      checkWebhookUrl: (url) => checkWebhookUrl(url, options.webhooks.allowPrivateNetworks === true),
      ended: () => undefined, // a workflow's webhook is refused in cluster mode (create)
    });
    replica.onWorkflowTask((task) => this.#workflows.taskChanged(task));
  }

  async create(spec: Parameters<Workflows['create']>[0]): Promise<ReturnType<Workflows['create']>> {
    if (spec !== null && typeof spec === 'object' && spec.webhook !== undefined) throw new InvalidOptionsError("workflow.webhook: not available in cluster mode yet (a task's webhook is)");
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
