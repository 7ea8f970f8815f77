import type { Context, Span, Tracer } from '@opentelemetry/api';
import type { EndDecision } from '../engine/decide-end.js';
import type { TaskRecord } from '../model/task-record.js';
import type { TraceCarrier } from './trace-carrier.js';
import { formatTraceparent } from './traceparent.js';
import { otelApi, type OtelApiModule } from './otel-api.js';
import { tracerIfRegistered } from './tracer-if-registered.js';

/** The attribute names of Steward's spans (API.md, "Per-task resources and observability"). */
export const SPAN_ATTRIBUTES = {
  taskId: 'steward.task.id',
  taskType: 'steward.task.type',
  attempt: 'steward.attempt',
  status: 'steward.status',
  errorCode: 'steward.error.code',
} as const;

interface TaskSpans {
  readonly task: Span;
  /** The task span as a parent context. */
  readonly context: Context;
  attempt: Span | undefined;
  carrier: TraceCarrier | undefined;
}

/**
 * The spans of one runtime's tasks: `steward.task <type>` from submit to the task's
 * end, under the submitter's active context, and `steward.attempt` under it for each
 * attempt, whose W3C context is handed to the executor. Made only when a tracer
 * provider is registered (see `taskTracing`), so without one the engine's hooks are
 * a single `undefined` check.
 *
 * A task this runtime did not see submitted (recovered from the journal after a
 * restart, or run again by `rt.retry` after it ended) has no live parent: its span
 * starts as a new root when its next attempt starts (or when it ends, if it never
 * runs again). No trace context is kept in the journal.
 */
export class TaskTracing {
  readonly #api: OtelApiModule;
  readonly #tracer: Tracer;
  readonly #spans = new Map<string, TaskSpans>();

  constructor(api: OtelApiModule, tracer: Tracer) {
    this.#api = api;
    this.#tracer = tracer;
  }

  /** Tasks with a live span. */
  get openTasks(): number {
    return this.#spans.size;
  }

  /** `rt.submit`: the task span starts under the submitter's active context. */
  submitted(task: TaskRecord): void {
    this.#open(task, this.#api.context.active());
  }

  /** An attempt starts: its span, under the task span. */
  attemptStarted(task: TaskRecord, attempt: number): void {
    const spans = this.#spans.get(task.id) ?? this.#open(task, this.#api.ROOT_CONTEXT);
    spans.attempt?.end(); // never left open by settle; defensive
    const span = this.#tracer.startSpan(
      'steward.attempt',
      { attributes: { [SPAN_ATTRIBUTES.taskId]: task.id, [SPAN_ATTRIBUTES.taskType]: task.type, [SPAN_ATTRIBUTES.attempt]: attempt } },
      spans.context,
    );
    spans.attempt = span;
    const { traceId, spanId, traceFlags, traceState } = span.spanContext();
    const traceparent = formatTraceparent({ traceId, spanId, traceFlags });
    const tracestate = traceState?.serialize();
    spans.carrier = tracestate ? { traceparent, tracestate } : { traceparent };
  }

  /** What the executor of a running attempt gets: `{ traceContext }` to spread into its request. */
  request(taskId: string): { traceContext: TraceCarrier } | undefined {
    const carrier = this.#spans.get(taskId)?.carrier;
    return carrier === undefined ? undefined : { traceContext: carrier };
  }

  /** An attempt has settled as `decision` says: its span ends with its status and error code. */
  attemptEnded(taskId: string, decision: EndDecision): void {
    const spans = this.#spans.get(taskId);
    const span = spans?.attempt;
    if (spans === undefined || span === undefined) return;
    spans.attempt = undefined;
    spans.carrier = undefined;
    if (decision.kind === 'interrupted') {
      // Shutdown: the task resumes in a later run, under a new span.
      this.#end(span, 'interrupted', undefined);
      this.#spans.delete(taskId);
      this.#end(spans.task, 'interrupted', undefined);
      return;
    }
    this.#end(span, decision.record.end, decision.error?.code);
  }

  /** An attempt parked itself on a durable wait: its span ends as suspended; the task span goes on. */
  attemptSuspended(taskId: string): void {
    const spans = this.#spans.get(taskId);
    const span = spans?.attempt;
    if (spans === undefined || span === undefined) return;
    spans.attempt = undefined;
    spans.carrier = undefined;
    this.#end(span, 'suspended', undefined);
  }

  /** The task has ended: its span ends with the task's status (and error code). */
  taskEnded(task: TaskRecord): void {
    const spans = this.#spans.get(task.id) ?? this.#open(task, this.#api.ROOT_CONTEXT);
    this.#spans.delete(task.id);
    if (spans.attempt !== undefined) this.#end(spans.attempt, task.status, task.error?.code);
    this.#end(spans.task, task.status, task.error?.code);
  }

  /**
   * `fn` run with no active context: for the submissions a schedule makes from its
   * timers, whose ambient context is whatever armed them; each firing starts a trace.
   */
  detached<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R {
    const { context, ROOT_CONTEXT } = this.#api;
    return (...args) => context.with(ROOT_CONTEXT, () => fn(...args));
  }

  /** Shutdown: the spans of tasks that did not end end as `interrupted` (the task resumes in a later run, under a new span). */
  closeAll(): void {
    for (const spans of this.#spans.values()) {
      if (spans.attempt !== undefined) this.#end(spans.attempt, 'interrupted', undefined);
      this.#end(spans.task, 'interrupted', undefined);
    }
    this.#spans.clear();
  }

  #open(task: TaskRecord, parent: Context): TaskSpans {
    const span = this.#tracer.startSpan(
      `steward.task ${task.type}`,
      { attributes: { [SPAN_ATTRIBUTES.taskId]: task.id, [SPAN_ATTRIBUTES.taskType]: task.type } },
      parent,
    );
    const spans: TaskSpans = { task: span, context: this.#api.trace.setSpan(parent, span), attempt: undefined, carrier: undefined };
    this.#spans.set(task.id, spans);
    return spans;
  }

  #end(span: Span, status: string, errorCode: string | undefined): void {
    span.setAttribute(SPAN_ATTRIBUTES.status, status);
    if (errorCode !== undefined) span.setAttribute(SPAN_ATTRIBUTES.errorCode, errorCode);
    const { SpanStatusCode } = this.#api;
    if (status === 'completed') span.setStatus({ code: SpanStatusCode.OK });
    else if (status === 'failed' || status === 'timed_out') span.setStatus({ code: SpanStatusCode.ERROR, ...(errorCode === undefined ? {} : { message: errorCode }) });
    span.end();
  }
}

/**
 * The tracing of a new runtime, or undefined when there is nothing to trace: the
 * API is not installed (or createRuntime has not loaded it), or no tracer provider
 * is registered. Decided once, when the runtime is made: register the provider
 * before createRuntime.
 */
export function taskTracing(): TaskTracing | undefined {
  const api = otelApi();
  if (api === undefined) return undefined;
  const tracer = tracerIfRegistered(api);
  return tracer === undefined ? undefined : new TaskTracing(api, tracer);
}
