import type { TaskDefinition, ResolvedDefinition } from '../model/task-definition.js';
import type { TaskError } from '../model/task-error.js';
import type { OutputChunk, TaskResources } from '../model/types.js';
import type { TraceCarrier } from '../tracing/trace-carrier.js';
import type { WaitRequest, WaitResults } from '../model/waits.js';

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
  /** How the task's durable waits have ended so far (see makeWaits); empty when it never waited. */
  readonly waits?: WaitResults;
  /**
   * Aborted on timeout or cancel. The executor must then stop the work for real
   * (terminate the thread, kill the process group); it need not report anything.
   */
  readonly signal: AbortSignal;
  /**
   * The attempt's span as a W3C trace context, when a tracer provider is registered:
   * work this executor starts should carry it on (a child process as `TRACEPARENT`/
   * `TRACESTATE`, see traceEnv), so its own spans nest under the attempt.
   */
  readonly traceContext?: TraceCarrier;
}

/**
 * Where an executor reports. Exactly one of `succeeded`, `failed`, `crashed`
 * ends the attempt; reports after the end (or after abort) are ignored, so an
 * executor need not guard against races with timeouts.
 */
export interface ExecutionSink {
  progress(percent: number, message?: string): void;
  output(stream: OutputChunk['stream'], data: string): void;
  /**
   * Undefined while output may flow; while the runtime's output store is behind, a
   * promise that resolves once it has caught up. An executor that reads output from
   * something it can pause (a child's pipe) pauses it until then, so a flood of
   * output waits in the child instead of in the host's memory. Optional for sinks.
   */
  outputDrain?(): Promise<void> | undefined;
  /** A durable step finished with `result`: journal it. */
  step(name: string, result: unknown): void;
  /** Resolves when the handler may use `cost` units of `bucket` (default 1); rejects past the task's budget. */
  rateLimit(bucket: string, cost?: number): Promise<void>;
  /** The handler used `used` units of `bucket` since its last report (true-up of its takes). Optional for sinks. */
  reportUsage?(bucket: string, used: number): void;
  /** The handler returned `result`. */
  succeeded(result: unknown): void;
  /** The handler threw or the work failed on its own terms (a non-zero exit). */
  failed(error: TaskError): void;
  /** The executor itself died (thread exit, out of memory, spawn failure). */
  crashed(error: TaskError): void;
  /**
   * This attempt now owns OS process group `group`: the engine journals it, so that
   * after a crash of the host recovery can stop what is left of it (see
   * {@link OrphanReaper}) before the task runs again. Report it right after the
   * spawn, before anything else of the attempt.
   */
  processStarted(group: ProcessGroup): void;
  /**
   * What the attempt used (CPU time; peak memory where it can be told), as this
   * executor measured it. Report it once, just before the report that ends the
   * attempt; it is journaled with the end. Optional for sinks and for executors.
   */
  resourcesUsed?(usage: TaskResources): void;
  /**
   * The handler parked itself on a durable wait (`ctx.waitForSignal`, `ctx.sleep`): the
   * attempt ends here without an outcome, no retry spent, and the task runs again from
   * the top once the wait is over. The executor stops waiting for the handler (it never
   * settles) and frees what ran it. Optional for sinks; an executor without handlers never calls it.
   */
  suspend?(request: WaitRequest): void;
  /**
   * The executor stopped this attempt's work for another attempt's sake: they shared
   * what ran them (a batch on one worker thread) and that had to be stopped, because
   * the other timed out, was cancelled or crashed it. The attempt ends without an
   * outcome, no retry spent, and the task goes back to the queue at once, `reason`
   * in its `attempt:interrupted` event. Optional for sinks: without it the executor
   * runs the work again itself.
   */
  interrupted?(reason: string): void;
}

/**
 * An OS process group an attempt owns, as its executor reports it: plain data that
 * goes into the journal. Core never reads it; only the executor's reaper does.
 */
export interface ProcessGroup {
  /** Process id of the group's leader (the process the executor spawned). */
  readonly pid: number;
  /** Process-group id (the leader's pid when it leads its own group). */
  readonly pgid: number;
  /**
   * When the leader started, as the OS counts it (on Linux `/proc/<pid>/stat`
   * field 22, clock ticks after boot), so a reused pid is never taken for it.
   */
  readonly startTime: number;
  /** The boot that `startTime` counts from (Linux: `/proc/sys/kernel/random/boot_id`). */
  readonly bootId?: string;
  /** Time between SIGTERM and SIGKILL when the group must be stopped. */
  readonly killGraceMs: number;
}

/** What an {@link OrphanReaper} found of a group. */
export type OrphanStop =
  /** Nothing of the group was left (or its pid now belongs to another process). */
  | 'gone'
  /** It was still running and has been stopped. */
  | 'stopped';

/**
 * Stops process groups that attempts of a previous run of the host left behind
 * (the host was killed; its children, in their own groups, were not). Recovery
 * calls it for every group journaled by an attempt that did not end, before the
 * task may run again.
 */
export interface OrphanReaper {
  /**
   * Stops `group` if what runs under its ids is still it (SIGTERM to the group,
   * SIGKILL after its `killGraceMs`). Resolves once nothing of it is left; rejects
   * with a StewardError when it cannot be stopped (no permission, or it outlived
   * SIGKILL), and the task is then not run again.
   */
  stop(group: ProcessGroup): Promise<OrphanStop>;
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
  /** Stops groups this kind's attempts left when the host died (executors that spawn processes). */
  readonly reaper?: OrphanReaper;
  /** Releases threads, processes and handles. */
  close(): Promise<void>;
}
