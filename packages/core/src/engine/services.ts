import type { ExecutionContext, ExecutionEnd } from '@steward/actors';
import { Admission } from '../coordination/admission.js';
import { ResourceGuard } from '../coordination/resource-guard.js';
import { startResourceSampling } from '../coordination/resource-sampling.js';
import type { RuntimeEvent } from '../events/events.js';
import type { NewRecord } from '../journal/journal-record.js';
import type { TaskTable } from '../journal/reducer.js';
import { ShuttingDownError } from '../model/errors.js';
import type { ResolvedRuntimeOptions } from '../model/options.js';
import type { SubmitOptions } from '../model/submit-options.js';
import type { TaskRecord } from '../model/task-record.js';
import { type ExecutionActions, Supervision } from '../supervision/supervision.js';
import { taskTracing, type TaskTracing } from '../tracing/task-tracing.js';
import type { Clock } from '../time/clock.js';
import { WebhookDispatcher } from '../webhooks/webhook-dispatcher.js';
import { checkWebhookUrl } from '../webhooks/webhook-url.js';
import { Workflows } from '../workflows/workflows.js';
import { Schedules } from '../schedules/schedules.js';
import type { Releasers } from './releasers.js';

/** The services around the attempt path, made and wired in one place. */
export interface Services {
  readonly supervision: Supervision;
  readonly admission: Admission;
  readonly guard: ResourceGuard | undefined;
  readonly webhooks: WebhookDispatcher;
  readonly workflows: Workflows;
  readonly schedules: Schedules;
  /** When the resource guard throttled, in this process (for reports). */
  readonly throttlePeriods: Array<{ from: number; to?: number }>;
  /** Spans of tasks and attempts; undefined when no tracer provider is registered. */
  readonly tracing: TaskTracing | undefined;
}

/** What the services call back into: the engine and its dispatcher. */
export interface ServiceHooks {
  readonly table: TaskTable;
  /** The execution's side effects (see executionMachine). */
  launch(executionId: string): void;
  stop(executionId: string, end: ExecutionEnd): void;
  settle(context: ExecutionContext, end: ExecutionEnd): void;
  restartJournal(): void | Promise<void>;
  restartExecutor(kind: string): void | Promise<void>;
  /** Something changed that may let a ready task run: look again soon. */
  wake(): void;
  /** A parked task may run again: back to the ready queue. */
  requeue(task: TaskRecord): void;
  lockTimedOut(task: TaskRecord): void;
  commit(record: NewRecord): void;
  emit(event: RuntimeEvent): void;
  submit(type: string, input: unknown, options: SubmitOptions, internal?: { workflowId: string; workflowTaskId: string }): TaskRecord;
  cancel(taskId: string, reason: string): void;
  isDefined(type: string): boolean;
  state(): 'running' | 'stopping' | 'stopped';
}

/**
 * Makes the supervision tree, admission (locks, buckets, the resource guard and its
 * sampling), webhook delivery and workflows, wires each to the hooks, and registers
 * each one's cleanup with `releasers` as it is made.
 */
export function wireServices(options: ResolvedRuntimeOptions, clock: Clock, hooks: ServiceHooks, releasers: Releasers): Services {
  const { logger } = options;
  // The execution machine's side effects, as the compiled executions call them.
  const execution: ExecutionActions = {
    startAttempt: (_args, params) => hooks.launch((params as { executionId: string }).executionId),
    stopAttempt: (_args, params) => hooks.stop((params as { executionId: string }).executionId, (params as { end: ExecutionEnd }).end),
    settle: (_args, params) => hooks.settle((params as { context: ExecutionContext }).context, (params as { end: ExecutionEnd }).end),
  };
  const supervision = new Supervision({
    clock,
    logger,
    executorKinds: ['inline', 'worker', ...options.executors.map((e) => e.kind)],
    execution,
    hooks: {
      restartService: (name) => (name === 'journal' ? hooks.restartJournal() : undefined),
      restartExecutor: (kind) => hooks.restartExecutor(kind),
      quarantineEnded: (type) => {
        logger.warn(`steward: task type "${type}" leaves quarantine; its tasks may run again`);
        hooks.wake();
      },
    },
  });
  releasers.add('supervision', () => supervision.stop());

  const guardOptions = options.resourceGuard;
  const guard = guardOptions === undefined ? undefined : new ResourceGuard(guardOptions, options.concurrency);
  const admission = new Admission({
    clock,
    rateLimits: options.rateLimits,
    protect: guardOptions?.protect ?? 0,
    agingMs: options.agingMs,
    ...(guard === undefined ? {} : { guard }),
    host: {
      requeue: (tasks) => {
        for (const task of tasks) if (task.status === 'queued') hooks.requeue(task);
        hooks.wake();
      },
      parked: (task, reason, at) => {
        if (reason.kind === 'lock') hooks.emit({ type: 'lock:waiting', taskId: task.id, lock: reason.name, at });
        else if (reason.kind === 'rate') hooks.emit({ type: 'ratelimit:waiting', taskId: task.id, bucket: reason.bucket, until: reason.until, at });
      },
      lockTimedOut: (task) => hooks.lockTimedOut(task),
    },
  });
  releasers.add('admission', () => admission.stop(new ShuttingDownError()));

  const throttlePeriods: Array<{ from: number; to?: number }> = [];
  if (guard !== undefined && guardOptions !== undefined) {
    startResourceSampling({
      guard,
      sampler: guardOptions.sampler,
      intervalMs: guardOptions.intervalMs,
      clock,
      logger,
      periods: throttlePeriods,
      stopped: () => hooks.state() === 'stopped',
      changed: (change, reading, at) => {
        const payload = { at, cpuPercent: reading.cpuPercent, memoryMb: reading.memoryMb, concurrency: guard.effectiveConcurrency, mode: guard.mode, floor: guard.floor };
        if (change === 'throttled') hooks.emit({ type: 'resource:throttled', ...payload });
        if (change === 'recovered') {
          hooks.emit({ type: 'resource:recovered', ...payload });
          admission.guardRecovered();
        }
        hooks.wake();
      },
      whileThrottled: () => admission.guardRecheck(),
    });
  }

  const tracing = taskTracing();
  const webhooks = new WebhookDispatcher(
    { table: hooks.table, clock, commit: hooks.commit, emit: hooks.emit, logger, isOpen: () => hooks.state() !== 'stopped' },
    options.webhooks,
  );
  releasers.add('webhooks', () => webhooks.stop());

  const workflows = new Workflows({
    table: hooks.table,
    now: () => options.clock.now(),
    newId: () => options.idGenerator(),
    commit: hooks.commit,
    submit: hooks.submit,
    cancel: hooks.cancel,
    isDefined: hooks.isDefined,
    emit: hooks.emit,
    isOpen: () => hooks.state() === 'running',
    checkWebhookUrl: (url) => checkWebhookUrl(url, webhooks.allowPrivateNetworks),
    ended: (workflow, outcome) => {
      if (workflow.webhook !== undefined) webhooks.enqueue({ workflowId: workflow.id }, workflow.webhook, `workflow.${outcome.status}`, { ...outcome, name: workflow.name }, options.idGenerator());
    },
  });
  releasers.add('workflows', () => workflows.stop());

  const schedules = new Schedules(
    { table: hooks.table, clock, logger, commit: hooks.commit, submit: tracing?.detached(hooks.submit) ?? hooks.submit, emit: hooks.emit, isOpen: () => hooks.state() === 'running', isDefined: hooks.isDefined },
    options.schedules,
  );
  releasers.add('schedules', () => schedules.stop());

  return { supervision, admission, guard, webhooks, workflows, schedules, throttlePeriods, tracing };
}
