import type { ExecutionRequest, ExecutionSink, Executor } from './executor.js';
import { clampPercent, formatLogLine, makeStep, type TaskContext } from '../model/task-context.js';
import { toTaskError, taskError } from '../model/task-error.js';
import { inTraceContext } from '../tracing/trace-context-scope.js';
import { makeWaits } from '../model/waits.js';

/**
 * Runs handlers on the main thread: for light, I/O-bound work. A timeout or
 * cancel ends the attempt at once and fires `ctx.signal`; the handler is
 * expected to watch it (a main-thread function cannot be stopped by force).
 */
export class InlineExecutor implements Executor {
  readonly kind = 'inline';

  execute(request: ExecutionRequest, sink: ExecutionSink): void {
    const handler = request.definition.handler;
    if (handler === undefined) {
      sink.crashed(taskError('STEWARD_HANDLER_ERROR', `task type "${request.type}" has no handler`, false));
      return;
    }
    const ctx: TaskContext = {
      taskId: request.taskId,
      attempt: request.attempt,
      get signal() {
        return request.signal;
      },
      dependencies: request.dependencies,
      progress: (percent, message) => sink.progress(clampPercent(percent), message === undefined ? undefined : String(message)),
      log: (...values) => sink.output('log', formatLogLine(values)),
      step: makeStep(request.steps, (name, result) => sink.step(name, result)),
      rateLimit: (bucket, options) => sink.rateLimit(bucket, options?.cost),
      reportUsage: (bucket, used) => sink.reportUsage?.(bucket, used),
      ...makeWaits(request.waits ?? {}, (wait) => {
        if (sink.suspend !== undefined) sink.suspend(wait);
        else sink.failed(taskError('STEWARD_HANDLER_ERROR', `this runtime cannot suspend the task for ${wait.kind} "${wait.name}"`, false));
      }),
    };
    let pending: unknown;
    try {
      pending = inTraceContext(request.traceContext, () => handler(request.input, ctx));
    } catch (error) {
      sink.failed(toTaskError(error));
      return;
    }
    Promise.resolve(pending).then(
      (result) => sink.succeeded(result),
      (error: unknown) => sink.failed(toTaskError(error)),
    );
  }

  async close(): Promise<void> {}
}
