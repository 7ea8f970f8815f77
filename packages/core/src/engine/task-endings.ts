import type { RuntimeEvent } from '../events/events.js';
import type { ResolvedRuntimeOptions } from '../model/options.js';
import type { TaskRecord } from '../model/task-record.js';
import type { TaskOutcome, TerminalStatus } from '../model/types.js';
import type { TaskOutput } from '../output/task-output.js';
import type { MetricsCollector } from '../reports/metrics.js';
import type { WebhookDispatcher } from '../webhooks/webhook-dispatcher.js';
import type { Workflows } from '../workflows/workflows.js';
import type { TaskTracing } from '../tracing/task-tracing.js';
import { outcomeOf, terminalEvent, webhookPayload } from './settlement.js';

interface Waiter {
  resolve(outcome: TaskOutcome): void;
  reject(error: Error): void;
}

/** Who hears of a task's end. */
export interface EndingsHost {
  readonly options: ResolvedRuntimeOptions;
  readonly metrics: MetricsCollector;
  readonly output: TaskOutput;
  readonly webhooks: WebhookDispatcher;
  readonly workflows: Workflows;
  /** Ends the task's span (when tracing). */
  readonly tracing: TaskTracing | undefined;
  /** True while someone listens to events. */
  observed(): boolean;
  emit(event: RuntimeEvent): void;
}

/**
 * The end of a task, told to everyone once: metrics, the terminal event, its
 * output, its webhook, its workflow, and the `result()` calls waiting for it.
 */
export class TaskEndings {
  readonly #host: EndingsHost;
  readonly #waiters = new Map<string, Waiter[]>();

  constructor(host: EndingsHost) {
    this.#host = host;
  }

  /** Settles with the outcome when the task ends, or rejects at shutdown (`rejectAll`). */
  wait(id: string): Promise<TaskOutcome> {
    return new Promise((resolve, reject) => {
      let list = this.#waiters.get(id);
      if (list === undefined) {
        list = [];
        this.#waiters.set(id, list);
      }
      list.push({ resolve, reject });
    });
  }

  /** The task has ended (its record says how): tell everyone. */
  ended(task: TaskRecord): void {
    const host = this.#host;
    const status = task.status as TerminalStatus;
    const at = task.endedAt ?? host.options.clock.now();
    const durationMs = task.startedAt === undefined ? undefined : at - task.startedAt;
    host.metrics.recordEnd(status, durationMs, at);
    host.tracing?.taskEnded(task);
    // Built before anyone is told: a listener may retry the task and reset its record.
    const outcome = outcomeOf(task, status);
    if (host.observed()) host.emit(terminalEvent(outcome, at, durationMs, task.cancelReason));
    host.output.ended(task.id);
    if (task.webhook !== undefined) {
      host.webhooks.enqueue({ taskId: task.id }, task.webhook, `task.${status}`, webhookPayload(task, outcome), host.options.idGenerator());
    }
    host.workflows.taskChanged(task);
    const list = this.#waiters.get(task.id);
    if (list === undefined) return;
    this.#waiters.delete(task.id);
    for (const waiter of list) waiter.resolve(outcome);
  }

  /** Shutdown: every wait still open is rejected with the error made for its task. */
  rejectAll(error: (id: string) => Error): void {
    this.#host.tracing?.closeAll();
    for (const [id, list] of this.#waiters) for (const waiter of list) waiter.reject(error(id));
    this.#waiters.clear();
  }
}
