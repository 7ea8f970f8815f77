import type { ResolvedRetryPolicy } from '../scheduling/backoff.js';
import type { ProcessGroup } from '../executors/executor.js';
import type { LockRequest } from '../coordination/lock-table.js';
import type { TaskError } from '../model/task-error.js';
import type { TaskResources } from '../model/types.js';
import type { WaitingFor } from '../model/waits.js';

/** Schema version written into every journal record (the journal stamps it; see Journal.commit). */
export const JOURNAL_VERSION = 1 as const;

/**
 * The reason of an `attempt:interrupted` whose executor stopped the attempt for another
 * attempt's sake (a batch on one worker thread): it re-runs at once and is not counted
 * against `recovery.maxInterruptions`, which is about crashes of the host.
 */
export const BATCH_INTERRUPTION = 'batch';

/** A task as its submission record carries it: enough to rebuild it after a crash. */
export interface SubmittedTask {
  id: string;
  type: string;
  input: unknown;
  priority: number;
  order: number;
  timeoutMs?: number;
  retries?: Partial<ResolvedRetryPolicy>;
  idempotencyKey?: string;
  metadata?: Record<string, unknown>;
  dependsOn: string[];
  /** What a failed dependency does to this task. @defaultValue 'fail' */
  onDependencyFailure?: 'fail' | 'run';
  workflowId?: string;
  /** The task's id within its workflow. */
  workflowTaskId?: string;
  locks?: LockRequest[];
  rateLimit?: string;
  lockTimeoutMs?: number;
  webhook?: { url: string; secret: string };
  /** Its concurrency key (none: the implicit key). */
  concurrencyKey?: string;
  /** Units of rate buckets it may use over all its attempts. */
  budget?: Record<string, number>;
}

/**
 * What the journal holds, one record per state change, discriminated on `type`.
 * A task's life costs three records when all goes well: submitted, started, ended.
 */
export type JournalRecord =
  | { v: typeof JOURNAL_VERSION; type: 'task:submitted'; at: number; task: SubmittedTask }
  | {
      v: typeof JOURNAL_VERSION;
      type: 'attempt:started';
      at: number;
      taskId: string;
      attempt: number;
      /** How long the attempt waited for its locks before it could start. */
      lockWaitMs?: number;
      /** True when it had to wait for a rate-limit token. */
      rateLimited?: boolean;
      /** Cluster mode: the node that runs the attempt. */
      node?: string;
    }
  | {
      v: typeof JOURNAL_VERSION;
      type: 'attempt:ended';
      at: number;
      taskId: string;
      attempt: number;
      end: 'completed' | 'failed' | 'timed_out' | 'cancelled';
      result?: unknown;
      error?: TaskError;
      /** Set when the task will be retried: when it becomes ready again. */
      retryAt?: number;
      /** False when this attempt does not spend a retry. */
      counts?: boolean;
      reason?: string;
      /** True when the executor itself died (a supervisor restart). */
      crashed?: boolean;
      /** What the attempt used, when its executor measured it. */
      resources?: TaskResources;
    }
  | {
      v: typeof JOURNAL_VERSION;
      type: 'attempt:interrupted';
      at: number;
      taskId: string;
      attempt: number;
      /** `shutdown`, `crash` (of the host, found by recovery) or {@link BATCH_INTERRUPTION}. */
      reason: string;
      /** True when the interruption spends a retry. */
      counts?: boolean;
      /** Set when the task has been interrupted too often and fails for good. */
      error?: TaskError;
    }
  /**
   * The attempt owns an OS process group, as its executor of kind `kind` reported
   * it: what recovery stops if the host dies while it runs.
   */
  | { v: typeof JOURNAL_VERSION; type: 'attempt:process'; at: number; taskId: string; attempt: number; kind: string; group: ProcessGroup }
  | { v: typeof JOURNAL_VERSION; type: 'step:completed'; at: number; taskId: string; name: string; result: unknown }
  | { v: typeof JOURNAL_VERSION; type: 'task:cancelled'; at: number; taskId: string; reason?: string }
  | { v: typeof JOURNAL_VERSION; type: 'task:requeued'; at: number; taskId: string }
  /** A task that ends without running (its lock wait timed out). */
  | { v: typeof JOURNAL_VERSION; type: 'task:rejected'; at: number; taskId: string; error: TaskError }
  | { v: typeof JOURNAL_VERSION; type: 'task:retried'; at: number; taskId: string }
  /** A task used `units` of bucket `bucket` (a ctx.rateLimit cost, or a usage report's difference, which may be negative). */
  | { v: typeof JOURNAL_VERSION; type: 'usage:recorded'; at: number; taskId: string; bucket: string; units: number }
  /**
   * The attempt parked itself on a durable wait: it ends without spending a retry and
   * the task waits (a signal already received for it is taken at once: queued again).
   */
  | { v: typeof JOURNAL_VERSION; type: 'task:suspended'; at: number; taskId: string; attempt: number; waitingFor: WaitingFor }
  /** A signal sent to a task: taken by the wait for it, or kept for the first wait of that name. */
  | { v: typeof JOURNAL_VERSION; type: 'task:signalled'; at: number; taskId: string; name: string; payload?: unknown }
  /** The wait `name` the task is suspended on is over by the clock: its sleep ended, or its signal timed out. */
  | { v: typeof JOURNAL_VERSION; type: 'task:woken'; at: number; taskId: string; name: string; reason: 'slept' | 'timed_out' }
  | {
      v: typeof JOURNAL_VERSION;
      type: 'webhook:enqueued';
      at: number;
      deliveryId: string;
      taskId?: string;
      workflowId?: string;
      url: string;
      secret: string;
      payload: unknown;
    }
  | {
      v: typeof JOURNAL_VERSION;
      type: 'webhook:attempted';
      at: number;
      deliveryId: string;
      attempt: number;
      ok: boolean;
      final: boolean;
      status?: number;
      error?: string;
      nextAt?: number;
    }
  | {
      v: typeof JOURNAL_VERSION;
      type: 'workflow:created';
      at: number;
      workflowId: string;
      name: string;
      metadata?: Record<string, unknown>;
      webhook?: { url: string; secret: string };
    }
  | { v: typeof JOURNAL_VERSION; type: 'workflow:phase-added'; at: number; workflowId: string; phase: WorkflowPhaseSpec }
  | { v: typeof JOURNAL_VERSION; type: 'workflow:task-added'; at: number; workflowId: string; task: WorkflowTaskSpec }
  | { v: typeof JOURNAL_VERSION; type: 'workflow:started'; at: number; workflowId: string }
  | { v: typeof JOURNAL_VERSION; type: 'workflow:cancelled'; at: number; workflowId: string; reason?: string }
  /** A schedule made, or replaced by one of the same id (its grid starts again at `at`). */
  | { v: typeof JOURNAL_VERSION; type: 'schedule:set'; at: number; scheduleId: string; spec: ScheduleSpecRecord }
  /** A firing submitted its task (`fireAt`: the time it stands for; its idempotency key names it). */
  | { v: typeof JOURNAL_VERSION; type: 'schedule:fired'; at: number; scheduleId: string; fireAt: number; taskId: string }
  /** The firings up to `through` were let go without a run (overlap, catch-up, a stalled host). */
  | { v: typeof JOURNAL_VERSION; type: 'schedule:skipped'; at: number; scheduleId: string; through: number }
  | { v: typeof JOURNAL_VERSION; type: 'schedule:paused'; at: number; scheduleId: string }
  /** Firings before `at` (missed while paused) are skipped. */
  | { v: typeof JOURNAL_VERSION; type: 'schedule:resumed'; at: number; scheduleId: string }
  | { v: typeof JOURNAL_VERSION; type: 'schedule:removed'; at: number; scheduleId: string };

/** A schedule's spec as its record carries it, defaults filled in (see ScheduleSpec). */
export interface ScheduleSpecRecord {
  cron?: string;
  every?: number;
  timezone: string;
  type: string;
  input?: unknown;
  options?: Record<string, unknown>;
  overlap: 'skip' | 'allow';
  catchUp: 'none' | 'latest' | 'all';
}

/** A phase of a workflow as its record carries it. */
export interface WorkflowPhaseSpec {
  id: string;
  dependsOn: string[];
}

/** A task of a workflow as its record carries it (submitted at start). */
export interface WorkflowTaskSpec {
  id: string;
  phaseId: string;
  type: string;
  input?: unknown;
  options?: Record<string, unknown>;
}

/** Name of a journal record type. */
export type JournalRecordType = JournalRecord['type'];

/** A record as the engine and its services write it: the journal stamps `v` itself. */
export type NewRecord = JournalRecord extends infer R ? (R extends JournalRecord ? Omit<R, 'v'> : never) : never;
