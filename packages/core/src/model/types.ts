import type { TaskError } from './task-error.js';

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
  endedAt?: number;
  /** Run time of the attempt that ended the task. */
  durationMs?: number;
  result?: unknown;
  error?: TaskError;
  metadata?: Record<string, unknown>;
  dependsOn: string[];
  workflowId?: string;
}

/** How a task ended, as `handle.result()` reports it. */
export interface TaskOutcome<T = unknown> {
  taskId: string;
  status: TerminalStatus;
  result?: T;
  error?: TaskError;
  startedAt?: number;
  endedAt: number;
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
