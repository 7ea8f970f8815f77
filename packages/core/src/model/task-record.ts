import type { ResolvedRetryPolicy } from '../scheduling/backoff.js';
import type { ProcessGroup } from '../executors/executor.js';
import type { LockRequest } from '../coordination/lock-table.js';
import type { ReadyItem } from '../scheduling/ready-queue.js';
import type { TaskError } from './task-error.js';
import type { TaskProgress, TaskResources, TaskSnapshot, TaskStatus } from './types.js';
import type { WaitingFor, WaitResult } from './waits.js';

/**
 * The runtime's own record of a task: a plain, mutable object that sits in the
 * ready queue while it waits (no actor until it runs) and that the reducer
 * rebuilds from the journal.
 */
export interface TaskRecord extends ReadyItem {
  readonly id: string;
  readonly type: string;
  readonly input: unknown;
  readonly priority: number;
  readonly createdAt: number;
  readonly timeoutMs: number | undefined;
  readonly retries: Partial<ResolvedRetryPolicy> | undefined;
  readonly idempotencyKey: string | undefined;
  readonly metadata: Record<string, unknown> | undefined;
  readonly dependsOn: string[];
  readonly onDependencyFailure: 'fail' | 'run';
  readonly workflowId: string | undefined;
  readonly workflowTaskId: string | undefined;
  /** Named locks taken all at once before each attempt. */
  readonly locks: readonly LockRequest[];
  /** Bucket a token is taken from before each attempt. */
  readonly rateLimit: string | undefined;
  /** Longest wait for the locks before failing with STEWARD_LOCK_TIMEOUT. */
  readonly lockTimeoutMs: number | undefined;
  /** Where the outcome is POSTed when the task ends. */
  readonly webhook: { url: string; secret: string } | undefined;
  /** Its concurrency key (undefined: the implicit key every task without one shares). */
  readonly concurrencyKey: string | undefined;
  /** Units of rate buckets it may use over all its attempts (unset: no cap). */
  readonly budget?: Readonly<Record<string, number>>;
  /** Units of rate buckets its attempts used, by bucket (journaled by `usage:recorded`; unset when none). */
  usage?: Record<string, number>;
  /** Dependencies not ended yet (while `waiting`). */
  pendingDeps: number;
  status: TaskStatus;
  attempts: number;
  /** Attempts that count against the retry budget since the last manual retry. */
  budgetUsed: number;
  enqueuedAt: number;
  startedAt: number | undefined;
  endedAt: number | undefined;
  retryAt: number | undefined;
  result: unknown;
  error: TaskError | undefined;
  progress: TaskProgress | undefined;
  cancelReason: string | undefined;
  /** Results of durable steps by name, kept across attempts. */
  steps: Record<string, unknown> | undefined;
  /** Attempts cut short by a crash or a shutdown. */
  interruptions: number;
  /** Attempts whose executor died (counted as supervisor restarts). */
  crashes: number;
  /** Attempts that had to wait for their locks, and the total time they waited. */
  lockWaits: number;
  lockWaitMs: number;
  /** Attempts that had to wait for a rate-limit token. */
  rateLimitWaits: number;
  /**
   * OS process groups its attempts have owned since it last ended (journaled by
   * `attempt:process`), for recovery to stop after a crash of the host. Unset (or
   * null, from an older snapshot) when there are none.
   */
  processGroups?: Array<{ attempt: number; kind: string; group: ProcessGroup }> | null;
  /** Cluster mode: the node that runs its attempt, or ran the latest one. */
  node?: string;
  /** What its attempts used, as their executors reported it (unset when none did). */
  resources?: TaskResources;
  /** While a wait or a sleep suspends it: what it waits for (a wait on dependencies has none). */
  waitingFor?: WaitingFor;
  /** Signals received that no wait has taken yet, oldest first. */
  signals?: Array<{ name: string; payload: unknown }>;
  /** How its waits have ended, by wait key (see waitKey), in the order its runs meet them. */
  waits?: Record<string, WaitResult[]>;
  /** `ctx.dependencies` given from outside (a task a cluster node claimed: its dependencies ran elsewhere); not journaled. */
  dependencyResults?: Readonly<Record<string, unknown>>;
}

/**
 * Copies a record into the public snapshot shape; `now` (the runtime clock's) gives
 * a running task its `elapsedMs`.
 */
export function toSnapshot(record: TaskRecord, now?: number): TaskSnapshot {
  const snapshot: TaskSnapshot = {
    id: record.id,
    type: record.type,
    status: record.status,
    priority: record.priority,
    attempts: record.attempts,
    createdAt: record.createdAt,
    dependsOn: [...record.dependsOn],
  };
  if (record.progress !== undefined) snapshot.progress = { ...record.progress };
  if (record.startedAt !== undefined) snapshot.startedAt = record.startedAt;
  if (record.node !== undefined) snapshot.node = record.node;
  if (record.status === 'running') {
    if (now !== undefined && record.startedAt !== undefined) snapshot.elapsedMs = Math.max(0, now - record.startedAt);
    // The group its current attempt journaled (the leader's pid), if it runs a process.
    const group = record.processGroups?.findLast((g) => g.attempt === record.attempts);
    if (group !== undefined) snapshot.pid = group.group.pid;
  }
  if (record.endedAt !== undefined) {
    snapshot.endedAt = record.endedAt;
    if (record.startedAt !== undefined) snapshot.durationMs = record.endedAt - record.startedAt;
  }
  if (record.resources !== undefined) snapshot.resources = { ...record.resources };
  if (record.usage != null) snapshot.usage = { ...record.usage };
  if (record.budget != null) snapshot.budget = { ...record.budget };
  if (record.concurrencyKey != null) snapshot.concurrencyKey = record.concurrencyKey;
  if (record.status === 'completed') snapshot.result = record.result;
  if (record.error !== undefined) snapshot.error = { ...record.error };
  if (record.metadata !== undefined) snapshot.metadata = record.metadata;
  if (record.workflowId !== undefined) snapshot.workflowId = record.workflowId;
  if (record.waitingFor != null) snapshot.waitingFor = { ...record.waitingFor };
  return snapshot;
}
