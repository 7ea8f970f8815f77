import type { StewardErrorCode } from './errors.js';

/** Codes of a task's own failure (data, not exceptions): the library's (see STEWARD_ERROR_CODES) or a handler's own. */
export type TaskErrorCode = StewardErrorCode | (string & {});

/**
 * A task's failure as plain data: this is what crosses thread and process
 * boundaries and what the journal keeps, never an Error instance.
 */
export interface TaskError {
  code: TaskErrorCode;
  message: string;
  stack?: string;
  /** False stops retries for this failure. */
  retryable: boolean;
  /** The handler was told to come back later (an HTTP 429): the retry waits at least this, and the task's bucket pauses. */
  retryAfterMs?: number;
}

/**
 * What a handler throws to fail with its own code or to stop retries:
 * `throw new TaskFailure('quota exhausted', { code: 'QUOTA', retryable: false })`.
 * Any thrown value with `retryable: false` stops retries the same way.
 */
export class TaskFailure extends Error {
  readonly code: string;
  readonly retryable: boolean;

  readonly retryAfterMs: number | undefined;

  constructor(message: string, options: { code?: string; retryable?: boolean; retryAfterMs?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'TaskFailure';
    this.code = options.code ?? 'STEWARD_HANDLER_ERROR';
    this.retryable = options.retryable ?? true;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** Builds a TaskError from scratch. */
export function taskError(code: TaskErrorCode, message: string, retryable: boolean, stack?: string): TaskError {
  return stack === undefined ? { code, message, retryable } : { code, message, retryable, stack };
}

/**
 * Turns whatever a handler threw into a TaskError. A thrown value's own `code`
 * (a string) and `retryable` (a boolean) are kept; anything else is a handler error.
 */
export function toTaskError(thrown: unknown, fallbackCode: TaskErrorCode = 'STEWARD_HANDLER_ERROR'): TaskError {
  if (thrown !== null && typeof thrown === 'object') {
    const value = thrown as { code?: unknown; message?: unknown; stack?: unknown; retryable?: unknown };
    const code = typeof value.code === 'string' && value.code.length > 0 ? value.code : fallbackCode;
    const message = typeof value.message === 'string' ? value.message : String(thrown);
    const retryable = typeof value.retryable === 'boolean' ? value.retryable : true;
    const error = taskError(code, message, retryable, typeof value.stack === 'string' ? value.stack : undefined);
    const retryAfterMs = (thrown as { retryAfterMs?: unknown }).retryAfterMs;
    if (typeof retryAfterMs === 'number' && Number.isFinite(retryAfterMs) && retryAfterMs > 0) error.retryAfterMs = retryAfterMs;
    return error;
  }
  return taskError(fallbackCode, String(thrown), true);
}
