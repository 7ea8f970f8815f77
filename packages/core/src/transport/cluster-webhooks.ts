import { outcomeOf, webhookPayload } from '../engine/settlement.js';
import type { ResolvedRuntimeOptions } from '../model/options.js';
import type { WorkflowRecord } from '../journal/reducer.js';
import type { TaskRecord } from '../model/task-record.js';
import { isTerminal, type TerminalStatus } from '../model/types.js';
import { WebhookDispatcher } from '../webhooks/webhook-dispatcher.js';
import type { WorkflowOutcome } from '../workflows/workflow-types.js';
import type { ClusterBackend } from './cluster-backend.js';
import { ClusterLease } from './cluster-lease.js';
import type { ClusterReplica } from './cluster-replica.js';
import { OwnRecords } from './own-records.js';

/** A task's delivery for one end of it: the same id on every node, so a new deliverer finds it. */
function deliveryIdOf(task: TaskRecord): string {
  return `task-${task.id}-${task.attempts}-${task.status}`;
}

/** A workflow's delivery for one end of it (a task retried by hand may bring it back and end it again). */
function workflowDeliveryIdOf(outcome: WorkflowOutcome): string {
  return `workflow-${outcome.workflowId}-${outcome.status}-${outcome.endedAt}`;
}

/**
 * Webhooks in cluster mode: a task (or workflow) submitted with `webhook` on any node has its outcome
 * POSTed once it ends, wherever it ran (or if it never ran: cancelled while queued,
 * failed with a dependency), by one node, the one that holds the lease `webhooks`. The
 * outbox and every attempt are records of the shared journal, so the node that takes the
 * lease over (at once when the deliverer stops, after the lease when it dies) resumes
 * what is pending and delivers the ends that have no delivery yet. Delivery is at least
 * once, as on one machine: an attempt cut short by a death is made again.
 */
export class ClusterWebhooks {
  readonly #replica: ClusterReplica;
  readonly #dispatcher: WebhookDispatcher;
  readonly #lease: ClusterLease;
  #closed = false;

  constructor(host: {
    backend: ClusterBackend;
    replica: ClusterReplica;
    options: ResolvedRuntimeOptions;
    open: () => boolean;
    /** The workflows with a webhook that have ended, with their outcomes. */
    endedWorkflows: () => Iterable<[WorkflowRecord, WorkflowOutcome]>;
  }) {
    const { backend, replica, options } = host;
    this.#replica = replica;
    const records = new OwnRecords(backend, replica, options.logger);
    this.#dispatcher = new WebhookDispatcher(
      {
        table: replica.table,
        clock: options.clock,
        logger: options.logger,
        emit: (event) => replica.emit(event),
        isOpen: () => host.open() && !this.#closed && this.#lease.held,
        // Applied here at once (the dispatcher reads its outbox right after), then stored.
        commit: (record) => records.commit(record),
      },
      options.webhooks,
    );
    this.#lease = new ClusterLease(backend, options, 'webhooks', {
      gained: () => {
        this.#dispatcher.resume();
        for (const task of replica.table.tasks.values()) if (isTerminal(task.status)) this.ended(task);
        for (const [workflow, outcome] of host.endedWorkflows()) this.workflowEnded(workflow, outcome);
      },
      lost: () => this.#dispatcher.stop(),
    });
  }

  start(): void {
    this.#lease.start();
  }

  freed(): void {
    this.#lease.freed();
  }

  /** A task ended (any node's record): the deliverer puts its outcome in the outbox, once per end. */
  ended(task: TaskRecord): void {
    if (task.webhook === undefined || !this.#lease.held || this.#closed) return;
    const deliveryId = deliveryIdOf(task);
    if (this.#replica.table.deliveries.has(deliveryId)) return;
    const status = task.status as TerminalStatus;
    this.#dispatcher.enqueue({ taskId: task.id }, task.webhook, `task.${status}`, webhookPayload(task, outcomeOf(task, status)), deliveryId);
  }

  /** A workflow ended (seen on every node): the deliverer puts its outcome in the outbox, once per end. */
  workflowEnded(workflow: WorkflowRecord, outcome: WorkflowOutcome): void {
    if (workflow.webhook === undefined || !this.#lease.held || this.#closed) return;
    const deliveryId = workflowDeliveryIdOf(outcome);
    if (this.#replica.table.deliveries.has(deliveryId)) return;
    this.#dispatcher.enqueue({ workflowId: workflow.id }, workflow.webhook, `workflow.${outcome.status}`, { ...outcome, name: workflow.name }, deliveryId);
  }

  async stop(): Promise<void> {
    this.#closed = true;
    await this.#lease.stop();
  }
}
