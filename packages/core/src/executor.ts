import type { TaskDefinition, ResolvedDefinition } from './task-definition.js';
import type { TaskError } from './task-error.js';
import type { OutputChunk } from './types.js';

/** One attempt handed to an executor. */
export interface ExecutionRequest {
  readonly taskId: string;
  readonly type: string;
  readonly attempt: number;
  readonly input: unknown;
  readonly definition: ResolvedDefinition;
  readonly dependencies: Readonly<Record<string, unknown>>;
  /** Results of durable steps recorded by earlier attempts, by step name. */
  readonly steps: Readonly<Record<string, unknown>>;
  /**
   * Aborted on timeout or cancel. The executor must then stop the work for real
   * (terminate the thread, kill the process group); it need not report anything.
   */
  readonly signal: AbortSignal;
}

/**
 * Where an executor reports. Exactly one of `succeeded`, `failed`, `crashed`
 * ends the attempt; reports after the end (or after abort) are ignored, so an
 * executor need not guard against races with timeouts.
 */
export interface ExecutionSink {
  progress(percent: number, message?: string): void;
  output(stream: OutputChunk['stream'], data: string): void;
  /** A durable step finished with `result`: journal it. */
  step(name: string, result: unknown): void;
  /** Resolves when the handler may use a token of `bucket`. */
  rateLimit(bucket: string): Promise<void>;
  /** The handler returned `result`. */
  succeeded(result: unknown): void;
  /** The handler threw or the work failed on its own terms (a non-zero exit). */
  failed(error: TaskError): void;
  /** The executor itself died (thread exit, out of memory, spawn failure). */
  crashed(error: TaskError): void;
}

/**
 * The executor contract: how any executor, ours or a user's, plugs into the runtime.
 * A definition whose kind is `kind` is run by this executor.
 */
export interface Executor {
  readonly kind: string;
  /** Checks a definition of this kind at define(); throws StewardError (STEWARD_INVALID_OPTIONS). */
  validate?(type: string, definition: TaskDefinition): void;
  /** Starts one attempt; reports through `sink`. Must not throw: failures go to the sink. */
  execute(request: ExecutionRequest, sink: ExecutionSink): void;
  /** Starts over after a failure of the executor itself (its supervisor decides when). */
  restart?(): Promise<void>;
  /** Releases threads, processes and handles. */
  close(): Promise<void>;
}
