import type { ExecutionContext, ExecutionEnd } from '@steward/actors';
import type { NewRecord } from '../journal/journal-record.js';
import { resolveRetryPolicy, type ResolvedDefinition } from '../model/task-definition.js';
import { taskError, type TaskError } from '../model/task-error.js';
import type { TaskRecord } from '../model/task-record.js';
import type { TaskResources } from '../model/types.js';
import { backoffDelayMs } from '../scheduling/backoff.js';
import type { WaitingFor, WaitRequest } from '../model/waits.js';

/** The error an attempt ended with, from its actor's end and context. */
export function attemptError(end: ExecutionEnd, context: ExecutionContext, attempt: number): TaskError | undefined {
  if (end === 'failed') return context.error as TaskError;
  if (end === 'timed_out') return taskError('STEWARD_TIMEOUT', `attempt ${attempt} timed out after ${context.timeoutMs} ms`, true);
  if (end === 'cancelled') return taskError('STEWARD_CANCELLED', context.reason ?? 'cancelled', false);
  return undefined;
}

/**
 * Whether a failed attempt is retried, and after how long: only failures and
 * timeouts whose error is retryable, while retries are left in the task's budget.
 */
export function retryDelay(
  task: TaskRecord,
  definition: ResolvedDefinition,
  end: ExecutionEnd,
  error: TaskError | undefined,
  random: () => number,
): number | undefined {
  if ((end !== 'failed' && end !== 'timed_out') || error?.retryable !== true) return undefined;
  const policy = resolveRetryPolicy(task.retries, definition.retries);
  const retryNumber = task.budgetUsed + 1;
  if (retryNumber > policy.attempts) return undefined;
  return Math.max(backoffDelayMs(policy, retryNumber, random), error.retryAfterMs ?? 0);
}

/**
 * The same end, failed: the journal could not encode the attempt's result (`cause`).
 * Not retried, since the same handler would give the same result.
 */
export function unjournalableResult(decision: EndDecision & { kind: 'ended' }, taskId: string, cause: unknown): EndDecision & { kind: 'ended' } {
  const reason = cause instanceof Error ? cause.message : String(cause);
  const error = taskError('STEWARD_NOT_SERIALIZABLE', `the result of task ${taskId} cannot be journaled: ${reason}`, false);
  const { result: _result, retryAt: _retryAt, ...rest } = decision.record;
  return { ...decision, record: { ...rest, end: 'failed', error }, error, retryDelayMs: undefined, quarantine: undefined };
}

/** What the dispatcher knows when an attempt's execution actor reaches its end. */
export interface AttemptEnd {
  /** The task as it is before the end is journaled. */
  task: TaskRecord;
  attempt: number;
  definition: ResolvedDefinition;
  /** A suspension is decided by {@link decideSuspension}. */
  end: Exclude<ExecutionEnd, 'suspended'>;
  context: ExecutionContext;
  at: number;
  /** What the executor measured the attempt used, when it did. */
  resources: TaskResources | undefined;
  /** Shutdown stopped it: journaled as interrupted, the task resumes on the next start (an `interrupted` end resumes it at once). */
  interrupting: boolean;
  /** The runtime has stopped: no retry is decided (the task stays as it ends). */
  stopped: boolean;
  /** One more crash of this type passes its supervisor's intensity. */
  wouldQuarantine: boolean;
  random: () => number;
}

/** What settling an attempt means, decided in one place before anything is done. */
export type EndDecision =
  | { kind: 'interrupted'; reason: string; record: NewRecord }
  | {
      kind: 'ended';
      /** The `attempt:ended` record to journal. */
      record: NewRecord & { type: 'attempt:ended' };
      error: TaskError | undefined;
      /** Set when the task is retried: after how long. Otherwise the task has ended. */
      retryDelayMs: number | undefined;
      /** Set when this crash quarantines the task's type (it is also the task's error). */
      quarantine: TaskError | undefined;
      /** The bucket a provider's "retry after" pauses, and until when. */
      pauseBucket: { bucket: string; until: number } | undefined;
    };

/**
 * Decides what an attempt's end means for its task: the record to journal, whether
 * and when it is retried, whether its type is quarantined, whether its rate bucket
 * pauses. Pure: the dispatcher then does what it says.
 */
export function decideEnd(input: AttemptEnd): EndDecision {
  const { task, attempt, end, context, at } = input;
  if (input.interrupting || end === 'interrupted') {
    // Shutdown, or the executor stopped it for another task's sake: no retry spent.
    const reason = input.interrupting ? 'shutdown' : (context.reason ?? 'interrupted');
    return { kind: 'interrupted', reason, record: { type: 'attempt:interrupted', at, taskId: task.id, attempt, reason } };
  }
  let error = attemptError(end, context, attempt);
  // A provider said "come back later": the whole bucket waits, not just this task.
  const pauseBucket = error?.retryAfterMs !== undefined && task.rateLimit !== undefined ? { bucket: task.rateLimit, until: at + error.retryAfterMs } : undefined;
  let quarantine: TaskError | undefined;
  // This crash passes the type's intensity: its supervisor will escalate, the type
  // rests, and this task stops here rather than retrying into the wall.
  if (context.crashed && error !== undefined && input.wouldQuarantine) {
    quarantine = taskError('STEWARD_QUARANTINED', `task type "${task.type}" crashed too often and is quarantined: ${error.message}`, false, error.stack);
    error = quarantine;
  }
  const retryDelayMs = input.stopped ? undefined : retryDelay(task, input.definition, end, error, input.random);
  const record: NewRecord & { type: 'attempt:ended' } = { type: 'attempt:ended', at, taskId: task.id, attempt, end };
  if (end === 'completed') record.result = context.result;
  if (error !== undefined) record.error = error;
  if (retryDelayMs !== undefined) record.retryAt = at + retryDelayMs;
  if (end === 'cancelled' && context.reason !== undefined) record.reason = context.reason;
  if (context.crashed) record.crashed = true;
  if (input.resources !== undefined) record.resources = input.resources;
  return { kind: 'ended', record, error, retryDelayMs, quarantine, pauseBucket };
}

/**
 * What an attempt that parked itself on a durable wait means: the `task:suspended`
 * record, with the wait put on the runtime's clock (a sleep's end, a signal's
 * timeout). No retry is spent and nothing is stopped: the task waits, holding no slot,
 * thread or lock, and runs again from the top once the wait is over.
 */
export function decideSuspension(task: TaskRecord, attempt: number, context: ExecutionContext, at: number): NewRecord & { type: 'task:suspended' } {
  const request = context.waitingFor as WaitRequest;
  const waitingFor: WaitingFor =
    request.kind === 'sleep'
      ? { kind: 'sleep', name: request.name, until: at + request.ms }
      : request.timeoutMs === undefined
        ? { kind: 'signal', name: request.name }
        : { kind: 'signal', name: request.name, until: at + request.timeoutMs };
  return { type: 'task:suspended', at, taskId: task.id, attempt, waitingFor };
}
