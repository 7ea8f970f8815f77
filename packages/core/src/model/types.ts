import type { TaskError } from './task-error.js';
import type { WaitingFor } from './waits.js';

/** Where a task is in its life. */
export type TaskStatus =
  | 'waiting'
  | 'queued'
  | 'running'
  | 'retrying'
  | 'completed'
  | 'failed'
  | 'cancelled'
  | 'timed_out';

/** The statuses a task ends in. */
export type TerminalStatus = 'completed' | 'failed' | 'cancelled' | 'timed_out';

/** Progress a handler reported last. */
export interface TaskProgress {
  /** 0..100 */
  percent: number;
  message?: string;
}

/**
 * What an attempt used, as its executor measured it: CPU time (user and system) and,
 * for a process task, the peak resident memory of its process group. A task's
 * figures add up its attempts (CPU summed, peak memory the highest).
 */
export interface TaskResources {
  cpuMs: number;
  maxRssMb?: number;
}

/** A point-in-time copy of a task, safe to keep and to serialize. */
export interface TaskSnapshot {
  id: string;
  type: string;
  status: TaskStatus;
  priority: number;
  progress?: TaskProgress;
  /** Attempts started so far (the first try counts). */
  attempts: number;
  createdAt: number;
  /** When the latest attempt started. */
  startedAt?: number;
  /** Cluster mode: the node that runs its attempt, or ran the latest one. */
  node?: string;
  endedAt?: number;
  /** Run time of the attempt that ended the task. */
  durationMs?: number;
  /** While it runs: time since its attempt started, on the runtime's clock. */
  elapsedMs?: number;
  /** While a process task runs: the pid of its command (the leader of its process group). */
  pid?: number;
  /** What its attempts used, when its executor measures it (process and worker tasks). */
  resources?: TaskResources;
  /** Units of rate buckets its attempts used, by bucket (`ctx.rateLimit` costs, trued up by `ctx.reportUsage`). */
  usage?: Record<string, number>;
  /** Its cap per bucket over all its attempts, when it was submitted with a `budget`. */
  budget?: Record<string, number>;
  /** The key it takes turns under, when it was submitted with a `concurrencyKey`. */
  concurrencyKey?: string;
  result?: unknown;
  error?: TaskError;
  metadata?: Record<string, unknown>;
  dependsOn: string[];
  workflowId?: string;
  /** While a wait or a sleep suspends it (status `waiting`): what it waits for. Absent for a wait on dependencies. */
  waitingFor?: WaitingFor;
}

/** How a task ended, as `handle.result()` reports it. */
export interface TaskOutcome<T = unknown> {
  taskId: string;
  status: TerminalStatus;
  result?: T;
  error?: TaskError;
  startedAt?: number;
  endedAt: number;
  /** Run time of the attempt that ended the task (absent when it never started). */
  durationMs?: number;
  attempts: number;
}

/** One chunk of a task's captured output. */
export interface OutputChunk {
  stream: 'stdout' | 'stderr' | 'log';
  data: string;
  at: number;
}

/** A progress report as `handle.progress$` emits it. */
export interface ProgressUpdate {
  percent: number;
  message?: string;
  at: number;
}

/** True for a status a task never leaves (unless retried by hand). */
export function isTerminal(status: TaskStatus): status is TerminalStatus {
  return status === 'completed' || status === 'failed' || status === 'cancelled' || status === 'timed_out';
}

/** True for the statuses `rt.retry` takes: a task that ended without completing. */
export function isRetryable(status: TaskStatus | undefined): boolean {
  return status === 'failed' || status === 'cancelled' || status === 'timed_out';
}
