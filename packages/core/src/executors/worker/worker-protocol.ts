import type { TaskError } from '../../model/task-error.js';
import type { TraceCarrier } from '../../tracing/trace-carrier.js';
import type { WaitRequest, WaitResults } from '../../model/waits.js';

// The one declaration of what crosses the worker-thread boundary, imported by
// both sides. Everything here is plain data: no class instances, no functions.

/** Tag on every message a worker thread posts on its own (outside Piscina's replies). */
export const WORKER_EVENT_TAG = 'steward:worker-event' as const;

/** A task as the worker entry receives it. */
export interface WorkerTask {
  readonly taskId: string;
  readonly attempt: number;
  readonly moduleUrl: string;
  readonly exportName: string;
  readonly input: unknown;
  /** Absent when empty, as are `steps` and `waits`: less to clone per task. */
  readonly dependencies?: Readonly<Record<string, unknown>>;
  readonly steps?: Readonly<Record<string, unknown>>;
  /** How the task's durable waits have ended so far. */
  readonly waits?: WaitResults;
  /** BroadcastChannel on which the main thread answers this runtime's requests (tokens); a batch's tasks have it on the batch. */
  readonly channel?: string;
  /** The attempt's span, made the active context around the handler (see inTraceContext). */
  readonly traceContext?: TraceCarrier;
}

/**
 * Several tasks for one thread in one message (see WorkerExecutor): the thread runs
 * them one after another and answers each with a `reply` event as it ends; Piscina's
 * own reply is only the count.
 */
export interface WorkerBatch {
  readonly batch: readonly WorkerTask[];
  readonly channel: string;
}

/** The main thread's answer to a request of a worker thread. */
export interface WorkerAnswer {
  readonly reqId: string;
  readonly ok: boolean;
  readonly code?: string;
  readonly message?: string;
}

/**
 * What the worker entry returns. `sent` counts the events it posted for this
 * attempt: they travel on another port than the reply, so the main thread waits
 * until it has seen that many before it settles the attempt and no log line is lost.
 * `cpuMs` is the CPU time of the thread while it ran the task, where the OS tells it
 * (see threadCpuMs).
 */
export type WorkerReply =
  | { readonly kind: 'ok'; readonly value: unknown; readonly sent: number; readonly cpuMs?: number }
  | { readonly kind: 'error'; readonly error: TaskError; readonly sent: number; readonly cpuMs?: number }
  /** The handler parked itself on a durable wait: the thread is free, the handler's promise is abandoned. */
  | { readonly kind: 'suspended'; readonly request: WaitRequest; readonly sent: number; readonly cpuMs?: number };

/** What a worker thread posts while a task runs. */
export type WorkerEvent =
  | {
      readonly tag: typeof WORKER_EVENT_TAG;
      readonly kind: 'progress';
      readonly taskId: string;
      readonly attempt: number;
      readonly percent: number;
      readonly message?: string;
    }
  | {
      readonly tag: typeof WORKER_EVENT_TAG;
      readonly kind: 'step';
      readonly taskId: string;
      readonly attempt: number;
      readonly name: string;
      readonly result: unknown;
    }
  | {
      readonly tag: typeof WORKER_EVENT_TAG;
      /** `ctx.rateLimit(bucket)`: answered on the channel when a token is taken. */
      readonly kind: 'token';
      readonly taskId: string;
      readonly attempt: number;
      readonly reqId: string;
      readonly bucket: string;
      /** Units asked for (`ctx.rateLimit(bucket, { cost })`); 1 when absent. */
      readonly cost?: number;
    }
  | {
      readonly tag: typeof WORKER_EVENT_TAG;
      /** `ctx.reportUsage(bucket, used)`: what the takes since the last report used. */
      readonly kind: 'usage';
      readonly taskId: string;
      readonly attempt: number;
      readonly bucket: string;
      readonly used: number;
    }
  | {
      readonly tag: typeof WORKER_EVENT_TAG;
      /** Something a task left behind (a timer) threw or called process.exit after the task ended; it was contained. */
      readonly kind: 'stray';
      readonly taskId: string;
      readonly attempt: number;
      readonly what: 'exit' | 'error';
      readonly message: string;
    }
  | {
      readonly tag: typeof WORKER_EVENT_TAG;
      /** A task of a batch ended: on the same port as its other events, so after all of them. */
      readonly kind: 'reply';
      readonly taskId: string;
      readonly attempt: number;
      readonly reply: WorkerReply;
    }
  | {
      readonly tag: typeof WORKER_EVENT_TAG;
      readonly kind: 'log';
      readonly taskId: string;
      readonly attempt: number;
      readonly data: string;
    };

/** Narrows a message from a worker thread to one of ours. */
export function isWorkerEvent(message: unknown): message is WorkerEvent {
  return typeof message === 'object' && message !== null && (message as { tag?: unknown }).tag === WORKER_EVENT_TAG;
}
