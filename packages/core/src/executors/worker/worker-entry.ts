// Runs inside a Piscina worker thread: loads the task type's module, calls its
// export with (input, ctx) and returns a WorkerReply. A handler's throw becomes
// data here; only a dying thread reaches the main side as a rejection.
import { AsyncLocalStorage } from 'node:async_hooks';
import { serialize } from 'node:v8';
import { BroadcastChannel, parentPort } from 'node:worker_threads';
import { clampPercent, formatLogLine, makeStep, type TaskContext } from '../../model/task-context.js';
import { taskError, toTaskError } from '../../model/task-error.js';
import { makeWaits, type WaitRequest } from '../../model/waits.js';
import { threadCpuMs } from './thread-cpu.js';
import { inTraceContext } from '../../tracing/trace-context-scope.js';
import { WORKER_EVENT_TAG, type WorkerAnswer, type WorkerBatch, type WorkerEvent, type WorkerReply, type WorkerTask } from './worker-protocol.js';

type Handler = (input: unknown, ctx: TaskContext) => unknown;

const EMPTY = Object.freeze({});

// The thread is terminated on cancel and timeout, so this signal never needs to fire.
const NEVER_ABORTED = new AbortController().signal;

/** The task a piece of code runs on behalf of (timers and promises keep it), and whether it has ended. */
interface TaskScope {
  readonly taskId: string;
  readonly attempt: number;
  done: boolean;
}

const scopes = new AsyncLocalStorage<TaskScope>();

function stray(scope: TaskScope, what: 'exit' | 'error', message: string): void {
  parentPort?.postMessage({ tag: WORKER_EVENT_TAG, kind: 'stray', taskId: scope.taskId, attempt: scope.attempt, what, message } satisfies WorkerEvent);
}

// What a task leaves behind must not fail the task that runs next on this thread:
// a timer of a task that has already returned may neither end the thread
// (process.exit) nor kill it with an uncaught error. Both are contained and
// reported. The same from the running task itself still ends the thread, which
// fails that task's own attempt as crashed.
const realExit = process.exit.bind(process);
process.exit = ((code?: number | string | null) => {
  const scope = scopes.getStore();
  if (scope?.done === true) {
    stray(scope, 'exit', `process.exit(${code ?? ''}) after the task ended was ignored`);
    return undefined as never;
  }
  return realExit(code as number | undefined);
}) as typeof process.exit;

function onUncaught(error: unknown): void {
  const scope = scopes.getStore();
  if (scope?.done === true) {
    stray(scope, 'error', error instanceof Error ? (error.stack ?? error.message) : String(error));
    return;
  }
  // Not contained: end the thread the way Node would have, with this error.
  process.off('uncaughtException', onUncaught);
  queueMicrotask(() => {
    throw error;
  });
}
process.on('uncaughtException', onUncaught);

async function loadHandler(task: WorkerTask): Promise<Handler | WorkerReply> {
  let module: Record<string, unknown>;
  try {
    module = (await import(task.moduleUrl)) as Record<string, unknown>;
  } catch (error) {
    const cause = toTaskError(error);
    return { kind: 'error', error: taskError('STEWARD_HANDLER_ERROR', `could not load ${task.moduleUrl}: ${cause.message}`, false, cause.stack), sent: 0 };
  }
  const handler = module[task.exportName];
  if (typeof handler !== 'function') {
    return {
      kind: 'error',
      error: taskError('STEWARD_HANDLER_ERROR', `${task.moduleUrl} has no function export "${task.exportName}"`, false),
      sent: 0,
    };
  }
  return handler as Handler;
}

let requests = 0;
const pending = new Map<string, { resolve: () => void; reject: (error: Error) => void }>();
const channels = new Map<string, BroadcastChannel>();

/** Waits for the main thread's answer to request `reqId` on the runtime's channel. */
function awaitAnswer(name: string, reqId: string): Promise<void> {
  let channel = channels.get(name);
  if (channel === undefined) {
    channel = new BroadcastChannel(name);
    // An open channel must not keep an idle thread alive.
    (channel as unknown as { unref?: () => void }).unref?.();
    channel.onmessage = (event: unknown) => {
      const answer = (event as { data: WorkerAnswer }).data;
      const waiter = pending.get(answer.reqId);
      if (waiter === undefined) return;
      pending.delete(answer.reqId);
      if (answer.ok) waiter.resolve();
      else waiter.reject(Object.assign(new Error(answer.message ?? 'refused'), { code: answer.code, retryable: false }));
    };
    channels.set(name, channel);
  }
  return new Promise((resolve, reject) => pending.set(reqId, { resolve, reject }));
}

/**
 * Piscina calls this with one task, or with a batch whose tasks run one after another
 * (each answered by a `reply` event; the result is their count). Either way one task
 * runs at a time on a thread, so the CPU time the thread used meanwhile is the task's:
 * loading its module the first time included.
 */
export default async function run(work: WorkerTask | WorkerBatch): Promise<WorkerReply | number> {
  if (!('batch' in work)) return runTask(work, work.channel as string);
  for (const task of work.batch) postReply(task, await runTask(task, work.channel));
  return work.batch.length;
}

function postReply(task: WorkerTask, reply: WorkerReply): void {
  const event = (answer: WorkerReply): WorkerEvent => ({ tag: WORKER_EVENT_TAG, kind: 'reply', taskId: task.taskId, attempt: task.attempt, reply: answer });
  try {
    parentPort?.postMessage(event(reply));
  } catch (error) {
    // The value passed the check in runHandler but still cannot be posted: the handler's mistake.
    const reason = toTaskError(error).message;
    parentPort?.postMessage(event({ kind: 'error', error: taskError('STEWARD_NOT_SERIALIZABLE', `result is not structured-cloneable: ${reason}`, false), sent: reply.sent }));
  }
}

async function runTask(task: WorkerTask, channel: string): Promise<WorkerReply> {
  const start = threadCpuMs();
  const reply = await runHandler(task, channel);
  const end = threadCpuMs();
  if (start === undefined || end === undefined) return reply;
  return { ...reply, cpuMs: Math.round((end - start) * 10) / 10 };
}

async function runHandler(task: WorkerTask, channel: string): Promise<WorkerReply> {
  const loaded = await loadHandler(task);
  if (typeof loaded !== 'function') return loaded;
  let sent = 0;
  const post = (event: WorkerEvent) => {
    sent++;
    parentPort?.postMessage(event);
  };
  // A durable wait parks the handler on a promise that never settles: the reply goes
  // out at once and the thread is free; the abandoned handler is left to the GC.
  let suspended!: (request: WaitRequest) => void;
  const parked = new Promise<Extract<WorkerReply, { kind: 'suspended' }>>((resolve) => {
    suspended = (request) => resolve({ kind: 'suspended', request, sent });
  });
  const ctx: TaskContext = {
    taskId: task.taskId,
    attempt: task.attempt,
    signal: NEVER_ABORTED,
    dependencies: task.dependencies ?? EMPTY,
    progress(percent, message) {
      post({
        tag: WORKER_EVENT_TAG,
        kind: 'progress',
        taskId: task.taskId,
        attempt: task.attempt,
        percent: clampPercent(percent),
        ...(message === undefined ? {} : { message: String(message) }),
      });
    },
    log(...values) {
      post({ tag: WORKER_EVENT_TAG, kind: 'log', taskId: task.taskId, attempt: task.attempt, data: formatLogLine(values) });
    },
    step: makeStep(task.steps ?? EMPTY, (name, result) =>
      post({ tag: WORKER_EVENT_TAG, kind: 'step', taskId: task.taskId, attempt: task.attempt, name, result }),
    ),
    rateLimit(bucket, options) {
      const reqId = `${task.taskId}:${task.attempt}:${++requests}`;
      const answer = awaitAnswer(channel, reqId);
      const cost = options?.cost;
      post({ tag: WORKER_EVENT_TAG, kind: 'token', taskId: task.taskId, attempt: task.attempt, reqId, bucket: String(bucket), ...(cost === undefined ? {} : { cost: Number(cost) }) });
      return answer;
    },
    reportUsage(bucket, used) {
      post({ tag: WORKER_EVENT_TAG, kind: 'usage', taskId: task.taskId, attempt: task.attempt, bucket: String(bucket), used: Number(used) });
    },
    ...makeWaits(task.waits ?? EMPTY, (request) => suspended(request)),
  };
  const scope: TaskScope = { taskId: task.taskId, attempt: task.attempt, done: false };
  try {
    const running = Promise.resolve().then(() => scopes.run(scope, () => inTraceContext(task.traceContext, () => loaded(task.input, ctx))));
    const first = await Promise.race([running.then((value) => ({ kind: 'value' as const, value })), parked]);
    if (first.kind === 'suspended') return first;
    const value = first.value;
    // Checked here, off the main thread: a value Piscina cannot post would kill the
    // thread after the fact and read as a crash instead of the handler's mistake.
    if ((typeof value === 'object' && value !== null) || typeof value === 'function' || typeof value === 'symbol') {
      try {
        serialize(value);
      } catch (error) {
        const reason = toTaskError(error).message;
        return { kind: 'error', error: taskError('STEWARD_NOT_SERIALIZABLE', `result is not structured-cloneable: ${reason}`, false), sent };
      }
    }
    return { kind: 'ok', value, sent };
  } catch (error) {
    return { kind: 'error', error: toTaskError(error), sent };
  } finally {
    scope.done = true;
  }
}
