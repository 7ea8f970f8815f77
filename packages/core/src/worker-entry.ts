// Runs inside a Piscina worker thread: loads the task type's module, calls its
// export with (input, ctx) and returns a WorkerReply. A handler's throw becomes
// data here; only a dying thread reaches the main side as a rejection.
import { serialize } from 'node:v8';
import { parentPort } from 'node:worker_threads';
import { clampPercent, formatLogLine, makeStep, type TaskContext } from './task-context.js';
import { taskError, toTaskError } from './task-error.js';
import { WORKER_EVENT_TAG, type WorkerEvent, type WorkerReply, type WorkerTask } from './worker-protocol.js';

type Handler = (input: unknown, ctx: TaskContext) => unknown;

// The thread is terminated on cancel and timeout, so this signal never needs to fire.
const NEVER_ABORTED = new AbortController().signal;

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

/** Piscina calls this once per task. */
export default async function runTask(task: WorkerTask): Promise<WorkerReply> {
  const loaded = await loadHandler(task);
  if (typeof loaded !== 'function') return loaded;
  let sent = 0;
  const post = (event: WorkerEvent) => {
    sent++;
    parentPort?.postMessage(event);
  };
  const ctx: TaskContext = {
    taskId: task.taskId,
    attempt: task.attempt,
    signal: NEVER_ABORTED,
    dependencies: task.dependencies,
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
    step: makeStep(task.steps, (name, result) =>
      post({ tag: WORKER_EVENT_TAG, kind: 'step', taskId: task.taskId, attempt: task.attempt, name, result }),
    ),
  };
  try {
    const value = await loaded(task.input, ctx);
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
  }
}
