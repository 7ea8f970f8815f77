import type { z } from 'zod';
import type { submitOptionsSchema } from './schemas.js';

/**
 * Options of one submission (checked by `submitOptionsSchema`):
 * - `priority`: a level name or a number (default: the definition's, else `defaultPriority`).
 * - `timeoutMs`: deadline of each attempt; 0 for none (default: the definition's, else none).
 * - `retries`: the retry policy (`RetryOptions`; default: the definition's, else no retries).
 * - `idempotencyKey`: same key, same task: a second submit returns the first task.
 * - `metadata`: kept with the task, shown in its snapshot.
 * - `dependsOn`: ids of tasks that must complete before this one starts; their results
 *   are in `ctx.dependencies`.
 * - `onDependencyFailure`: what a dependency that fails, is cancelled or times out does
 *   to this task (default 'fail', with STEWARD_DEPENDENCY_FAILED; or 'run').
 * - `locks`: named locks taken all at once before the task starts: a name is exclusive,
 *   `{ name, mode: 'shared' }` shared.
 * - `lockTimeoutMs`: longest wait for the locks; past it the task fails with
 *   STEWARD_LOCK_TIMEOUT (default: no limit).
 * - `rateLimit`: a bucket of `rateLimits` to take a token from before the task starts.
 * - `webhook`: POST the outcome here when the task ends, signed with `secret` (Standard Webhooks).
 * - `concurrencyKey`: the task's key (a tenant, a repository): at the same priority, ready
 *   tasks of different keys take turns, and at most the definition's `keyConcurrency` of one
 *   key run at once (default: the implicit key that every task without one shares).
 * - `budget`: units of `rateLimits` buckets this task may use over all its attempts,
 *   `{ bucket: units }`; a `ctx.rateLimit` or `ctx.reportUsage` past it fails the attempt
 *   with STEWARD_BUDGET_EXCEEDED, not retried (default: no cap).
 */
export type SubmitOptions = z.input<typeof submitOptionsSchema>;
