import type { LockMode } from '../coordination/lock-table.js';
import type { RetryOptions } from './task-definition.js';

/** Options of one submission. */
export interface SubmitOptions {
  /** A level name or a number. @defaultValue the definition's, else `defaultPriority` */
  priority?: string | number;
  /** Deadline of each attempt; 0 for none. @defaultValue the definition's, else none */
  timeoutMs?: number;
  retries?: RetryOptions;
  /** Same key, same task: a second submit returns the first task. */
  idempotencyKey?: string;
  metadata?: Record<string, unknown>;
  /** Ids of tasks that must complete before this one starts; their results are in `ctx.dependencies`. */
  dependsOn?: string[];
  /** What a dependency that fails, is cancelled or times out does to this task. @defaultValue 'fail' (with STEWARD_DEPENDENCY_FAILED) */
  onDependencyFailure?: 'fail' | 'run';
  /** Named locks taken all at once before the task starts: a name is exclusive, `{ name, mode: 'shared' }` shared. */
  locks?: Array<string | { name: string; mode?: LockMode }>;
  /** Longest wait for the locks; past it the task fails with STEWARD_LOCK_TIMEOUT. @defaultValue no limit */
  lockTimeoutMs?: number;
  /** A bucket of `rateLimits` to take a token from before the task starts. */
  rateLimit?: string;
  /** POST the outcome here when the task ends, signed with `secret` (Standard Webhooks). */
  webhook?: { url: string; secret: string };
}
