/**
 * Every code the library uses, in one list that can be checked at run time: what
 * its calls throw (as a StewardError), what the HTTP host and the CLI answer, and
 * what a task's own failure carries (TaskError.code). A new code goes here first.
 */
export const STEWARD_ERROR_CODES = [
  // Thrown by the library's calls.
  'STEWARD_INVALID_OPTIONS',
  'STEWARD_UNKNOWN_TASK_TYPE',
  'STEWARD_TASK_NOT_FOUND',
  'STEWARD_QUEUE_FULL',
  'STEWARD_SHUTTING_DOWN',
  'STEWARD_STORE_LOCKED',
  'STEWARD_STORE_CORRUPT',
  'STEWARD_STORE_FULL',
  'STEWARD_STORE_UNAVAILABLE',
  'STEWARD_STORE_VERSION',
  'STEWARD_TRANSPORT_UNAVAILABLE',
  'STEWARD_PAYLOAD_TOO_LARGE',
  'STEWARD_NOT_SERIALIZABLE',
  'STEWARD_INVALID_STATE',
  'STEWARD_TASK_FAILED',
  'STEWARD_COMMAND_NOT_ALLOWED',
  'STEWARD_WORKFLOW_NOT_FOUND',
  'STEWARD_SCHEDULE_NOT_FOUND',
  // Answered by the HTTP host (and seen by its clients: the CLI, the MCP server).
  'STEWARD_NOT_FOUND',
  'STEWARD_INVALID_JSON',
  'STEWARD_UNAUTHORIZED',
  'STEWARD_FORBIDDEN',
  'STEWARD_UNSUPPORTED_MEDIA_TYPE',
  'STEWARD_INTERNAL',
  // The CLI: no server runs in the data directory (or it cannot be reached), an id
  // prefix names several tasks, the port to serve on is taken or not allowed.
  'STEWARD_NO_SERVER',
  'STEWARD_AMBIGUOUS_ID',
  'STEWARD_PORT_IN_USE',
  'STEWARD_PORT_DENIED',
  // A task's own failure, as data (TaskError.code); handlers may use codes of their own.
  'STEWARD_TIMEOUT',
  'STEWARD_CANCELLED',
  'STEWARD_WORKER_CRASHED',
  'STEWARD_PROCESS_EXIT',
  'STEWARD_PROCESS_SPAWN',
  'STEWARD_LOCK_TIMEOUT',
  'STEWARD_DEPENDENCY_FAILED',
  'STEWARD_INTERRUPTED',
  'STEWARD_QUARANTINED',
  'STEWARD_HANDLER_ERROR',
  'STEWARD_EXECUTOR_ERROR',
  // Past the task's budget of a rate bucket (ctx.rateLimit, ctx.reportUsage); not retried.
  'STEWARD_BUDGET_EXCEEDED',
  // A durable wait past its timeoutMs (thrown inside the handler, which may catch it).
  'STEWARD_SIGNAL_TIMEOUT',
] as const;

/** Stable codes of the library's errors: one of {@link STEWARD_ERROR_CODES}. */
export type StewardErrorCode = (typeof STEWARD_ERROR_CODES)[number];

const CODE_SET: ReadonlySet<string> = new Set(STEWARD_ERROR_CODES);

/** True when `value` is one of the library's codes. */
export function isStewardErrorCode(value: unknown): value is StewardErrorCode {
  return typeof value === 'string' && CODE_SET.has(value);
}

/**
 * A caller's value as text for a message, whatever it is: String() throws for a
 * symbol or an object without a usable toString, and a message must never throw.
 */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'symbol') return value.toString();
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/**
 * Base of every error the library throws. Tests and callers match on `code`;
 * the message is for people and may change.
 */
export class StewardError extends Error {
  readonly code: StewardErrorCode;

  constructor(code: StewardErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Thrown when options or a definition fail validation; the message starts with the option path. */
export class InvalidOptionsError extends StewardError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('STEWARD_INVALID_OPTIONS', message, options);
  }
}

/** Thrown by submit for a task type that was never defined. */
export class UnknownTaskTypeError extends StewardError {
  readonly taskType: string;

  /** `taskType` may be anything a caller passed: it is shown, never converted with String(). */
  constructor(taskType: unknown) {
    const shown = describeValue(taskType);
    super('STEWARD_UNKNOWN_TASK_TYPE', `unknown task type "${shown}": define it first with rt.define()`);
    this.taskType = shown;
  }
}

/** Thrown when an id names no task this runtime knows. */
export class TaskNotFoundError extends StewardError {
  readonly taskId: string;

  /** `taskId` may be anything a caller passed: it is shown, never converted with String(). */
  constructor(taskId: unknown) {
    const shown = describeValue(taskId);
    super('STEWARD_TASK_NOT_FOUND', `no task with id "${shown}"`);
    this.taskId = shown;
  }
}

/** Thrown by submit when `maxQueue` tasks are already waiting. */
export class QueueFullError extends StewardError {
  constructor(readonly maxQueue: number) {
    super('STEWARD_QUEUE_FULL', `the queue is full (maxQueue ${maxQueue}); retry later or raise maxQueue`);
  }
}

/** Thrown by calls made after shutdown began, and by result() of tasks left unfinished by it. */
export class ShuttingDownError extends StewardError {
  constructor(what = 'the runtime is shutting down') {
    super('STEWARD_SHUTTING_DOWN', what);
  }
}

/** Thrown at submit when the input is larger than `maxPayloadBytes` once serialized. */
export class PayloadTooLargeError extends StewardError {
  constructor(readonly bytes: number, readonly limit: number) {
    super('STEWARD_PAYLOAD_TOO_LARGE', `input is ${bytes} bytes serialized, over the limit of ${limit} (maxPayloadBytes)`);
  }
}

/** Thrown at submit when the input cannot be structured-cloned (functions, symbols, class handles). */
export class NotSerializableError extends StewardError {
  constructor(what: string, options?: { cause?: unknown }) {
    super('STEWARD_NOT_SERIALIZABLE', `${what} must be structured-cloneable plain data`, options);
  }
}

/** Thrown when a call does not fit the task's current state (retry of a running task, say). */
export class InvalidStateError extends StewardError {
  constructor(message: string) {
    super('STEWARD_INVALID_STATE', message);
  }
}

/** Thrown by createRuntime when another runtime (in this or another process) holds the data directory. */
export class StoreLockedError extends StewardError {
  constructor(dataDir: string, options?: { cause?: unknown }) {
    super('STEWARD_STORE_LOCKED', `the data directory ${dataDir} is in use by another runtime; stop it or use another dataDir`, options);
  }
}

/** Thrown by createRuntime when the journal is damaged other than at its tail. */
export class StoreCorruptError extends StewardError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('STEWARD_STORE_CORRUPT', message, options);
  }
}

/**
 * Thrown (or the rejection of submit) while the journal cannot be written because
 * the disk is full. Nothing acknowledged before it is lost; writing resumes by
 * itself once there is room. A submit refused this way may still have reached the
 * journal and run later: resubmit with the same idempotencyKey to be sure of one task.
 */
export class StoreFullError extends StewardError {
  constructor(message = 'the disk is full: the journal cannot be written; free some space (the runtime carries on by itself)', options?: { cause?: unknown }) {
    super('STEWARD_STORE_FULL', message, options);
  }
}

/** Like {@link StoreFullError}, for any other failure to write the journal (an I/O error, say). */
export class StoreUnavailableError extends StewardError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('STEWARD_STORE_UNAVAILABLE', message, options);
  }
}

/** Thrown (or rejected with) in cluster mode while the shared store cannot be reached: nothing was acknowledged. */
export class TransportUnavailableError extends StewardError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('STEWARD_TRANSPORT_UNAVAILABLE', message, options);
  }
}

/** Thrown by createRuntime when the journal holds a record of a newer format than this version reads. */
export class StoreVersionError extends StewardError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('STEWARD_STORE_VERSION', message, options);
  }
}

/** Thrown at define() when a command is not in the process executor's allowlist. */
export class CommandNotAllowedError extends StewardError {
  constructor(readonly command: string) {
    super('STEWARD_COMMAND_NOT_ALLOWED', `command "${command}" is not in the process executor's allow list`);
  }
}

/** Thrown when an id names no workflow this runtime knows. */
export class WorkflowNotFoundError extends StewardError {
  readonly workflowId: string;

  /** `workflowId` may be anything a caller passed: it is shown, never converted with String(). */
  constructor(workflowId: unknown) {
    const shown = describeValue(workflowId);
    super('STEWARD_WORKFLOW_NOT_FOUND', `no workflow with id "${shown}"`);
    this.workflowId = shown;
  }
}

/** Thrown when an id names no schedule this runtime knows. */
export class ScheduleNotFoundError extends StewardError {
  readonly scheduleId: string;

  constructor(scheduleId: unknown) {
    const shown = describeValue(scheduleId);
    super('STEWARD_SCHEDULE_NOT_FOUND', `no schedule with id "${shown}"`);
    this.scheduleId = shown;
  }
}

/** Convenience test for a StewardError with a given code. */
export function isStewardError(error: unknown, code?: StewardErrorCode): error is StewardError {
  return error instanceof StewardError && (code === undefined || error.code === code);
}

/**
 * Thrown by `rt.run()` (and handed to `executeWithCallback` callbacks) when the
 * task ends other than completed; `outcome` says how, `taskError` why.
 */
export class TaskFailedError extends StewardError {
  constructor(
    readonly outcome: { taskId: string; status: string; error?: { code: string; message: string } },
  ) {
    super('STEWARD_TASK_FAILED', `task "${outcome.taskId}" ended ${outcome.status}: ${outcome.error?.code ?? ''} ${outcome.error?.message ?? ''}`.trim(), {
      cause: outcome.error,
    });
  }

  /** The task's own failure data. */
  get taskError(): { code: string; message: string } | undefined {
    return this.outcome.error;
  }
}
