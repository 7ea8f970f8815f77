import type { ExecutionEvent } from '@steward/actors';
import type { ExecutionRequest, ExecutionSink, Executor, ProcessGroup } from '../executors/executor.js';
import type { TraceCarrier } from '../tracing/trace-carrier.js';
import type { ResolvedDefinition } from '../model/task-definition.js';
import type { TaskError } from '../model/task-error.js';
import type { TaskRecord } from '../model/task-record.js';
import type { OutputChunk, TaskResources } from '../model/types.js';
import type { WaitRequest } from '../model/waits.js';
import type { Take } from '../coordination/rate-buckets.js';

const NO_STEPS: Readonly<Record<string, unknown>> = Object.freeze({});
const NO_WAITS: Readonly<Record<string, never>> = Object.freeze({});

/** The execution an attempt's reports go to (a run of the compiled execution machine). */
export interface ExecutionRef {
  send(event: ExecutionEvent): void;
}

/** What the engine exposes to a running attempt's sink. */
export interface AttemptHost {
  onProgress(attempt: Attempt, percent: number, message: string | undefined): void;
  onOutput(attempt: Attempt, stream: OutputChunk['stream'], data: string): void;
  /** Undefined while output may flow, else when it may again (see ExecutionSink.outputDrain). */
  outputDrain(): Promise<void> | undefined;
  onStep(attempt: Attempt, name: string, result: unknown): void;
  takeToken(attempt: Attempt, bucket: string, cost?: number): Promise<void>;
  reportUsage(attempt: Attempt, bucket: string, used: number): void;
  onProcessStarted(attempt: Attempt, group: ProcessGroup): void;
}

/**
 * One running attempt: its task, executor, abort signal and execution.
 * It is also the sink its executor reports to; ends go to the actor, which
 * decides the single outcome, so a report racing a timeout is simply dropped.
 */
export class Attempt implements ExecutionSink {
  readonly task: TaskRecord;
  readonly number: number;
  readonly definition: ResolvedDefinition;
  readonly executor: Executor;
  actor: ExecutionRef | undefined;
  /** Set once the actor settled: later reports are ignored. */
  settled = false;
  /** Set when shutdown stops this attempt: it is journaled as interrupted, not cancelled. */
  interrupting = false;
  /** A cancel that arrived before the actor existed. */
  pendingCancel: { reason: string | undefined } | undefined;
  /** What the attempt used, as its executor reported it (journaled with its end). */
  resources?: TaskResources;
  readonly #host: AttemptHost;
  // Made on first use: most attempts never look at their signal or meter a bucket.
  #controller: AbortController | undefined;
  #abortReason: unknown;
  #aborted = false;
  #metered: Map<string, { takes: Take[]; reserved: number; pending: number }> | undefined;

  constructor(host: AttemptHost, task: TaskRecord, number: number, definition: ResolvedDefinition, executor: Executor) {
    this.#host = host;
    this.task = task;
    this.number = number;
    this.definition = definition;
    this.executor = executor;
  }

  /** Fires when the attempt is stopped (timeout, cancel, shutdown); made when first asked for, already aborted if it was. */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#abortReason);
    }
    return this.#controller.signal;
  }

  /** Stops the work: the signal fires (now, or as it is made). */
  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#abortReason = reason;
    this.#controller?.abort(reason);
  }

  /** What its executor is handed: the task's input, what earlier attempts recorded, and the signal (read when asked for). */
  request(dependencies: Readonly<Record<string, unknown>>, tracing: { traceContext: TraceCarrier } | undefined): ExecutionRequest {
    const attempt = this;
    const task = this.task;
    return {
      taskId: task.id,
      type: task.type,
      attempt: this.number,
      input: task.input,
      definition: this.definition,
      dependencies,
      steps: task.steps ?? NO_STEPS,
      waits: task.waits ?? NO_WAITS,
      // Read when an executor or handler asks: most inline handlers never do.
      get signal() {
        return attempt.signal;
      },
      ...tracing,
    };
  }

  /** What this attempt took of each bucket and not yet reported (see UsageMeter). */
  get metered(): Map<string, { takes: Take[]; reserved: number; pending: number }> {
    return (this.#metered ??= new Map());
  }

  progress(percent: number, message?: string): void {
    if (!this.settled) this.#host.onProgress(this, percent, message);
  }

  output(stream: OutputChunk['stream'], data: string): void {
    // Output that arrives after the end is still the task's output: keep it.
    this.#host.onOutput(this, stream, data);
  }

  outputDrain(): Promise<void> | undefined {
    return this.#host.outputDrain();
  }

  step(name: string, result: unknown): void {
    // A step finished is worth keeping even if the attempt has just ended.
    this.#host.onStep(this, name, result);
  }

  rateLimit(bucket: string, cost?: number): Promise<void> {
    return this.#host.takeToken(this, bucket, cost);
  }

  reportUsage(bucket: string, used: number): void {
    if (!this.settled) this.#host.reportUsage(this, bucket, used);
  }

  processStarted(group: ProcessGroup): void {
    // Journaled even after the end: the group exists until the executor has stopped it.
    this.#host.onProcessStarted(this, group);
  }

  resourcesUsed(usage: TaskResources): void {
    if (!this.settled) this.resources = usage;
  }

  succeeded(result: unknown): void {
    this.#send({ type: 'attempt.succeeded', result });
  }

  failed(error: TaskError): void {
    this.#send({ type: 'attempt.failed', error });
  }

  crashed(error: TaskError): void {
    this.#send({ type: 'attempt.crashed', error });
  }

  suspend(request: WaitRequest): void {
    this.#send({ type: 'attempt.suspended', waitingFor: request });
  }

  interrupted(reason: string): void {
    this.#send({ type: 'attempt.interrupted', reason });
  }

  #send(event: ExecutionEvent): void {
    if (this.settled) return;
    this.actor?.send(event);
  }
}
