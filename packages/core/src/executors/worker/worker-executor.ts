import { randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import { BroadcastChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { ExecutionRequest, ExecutionSink, Executor } from '../executor.js';
import type { WorkersOptions } from './worker-options.js';
import { DEFINITION_DEFAULTS } from '../../model/task-definition.js';

/** The pool's options, resolved. */
export type WorkerPoolOptions = Required<Pick<WorkersOptions, 'minThreads' | 'maxThreads' | 'idleTimeoutMs'>> & Pick<WorkersOptions, 'resourceLimits'>;
import { taskError, type TaskError } from '../../model/task-error.js';
import { isWorkerEvent, type WorkerAnswer, type WorkerReply, type WorkerTask } from './worker-protocol.js';

interface ActiveAttempt {
  readonly attempt: number;
  readonly sink: ExecutionSink;
  received: number;
  /** Set when the reply arrived before every event it counts. */
  reply: WorkerReply | undefined;
}

const ENTRY = new URL('./worker-entry.js', import.meta.url).href;

/** Maps what Piscina rejects with (the thread died) onto a task error. */
function crashError(error: unknown): { error: TaskError; crashed: boolean } {
  const e = error as { name?: unknown; code?: unknown; message?: unknown; stack?: unknown } | undefined;
  const message = typeof e?.message === 'string' ? e.message : inspect(error, { depth: 2, breakLength: Infinity });
  const stack = typeof e?.stack === 'string' ? e.stack : undefined;
  if (e?.name === 'DataCloneError') {
    // The thread threw while posting the result: the handler's fault, not the thread's.
    return { error: taskError('STEWARD_NOT_SERIALIZABLE', `result is not structured-cloneable: ${message}`, false, stack), crashed: false };
  }
  if (e?.code === 'ERR_WORKER_OUT_OF_MEMORY') {
    return { error: taskError('STEWARD_WORKER_CRASHED', `worker thread ran out of memory: ${message}`, true, stack), crashed: true };
  }
  return { error: taskError('STEWARD_WORKER_CRASHED', `worker thread died: ${message}`, true, stack), crashed: true };
}

/**
 * Runs `module` definitions in a Piscina pool of worker threads. Timeout and
 * cancel abort the Piscina task, which terminates the thread running it; the
 * pool starts a fresh one when work needs it, so capacity is kept.
 */
export class WorkerExecutor implements Executor {
  readonly kind = 'worker';
  #pool: Piscina;
  readonly #active = new Map<string, ActiveAttempt>();
  readonly #options: WorkerPoolOptions;
  readonly #onPoolError: (error: unknown) => void;

  readonly #onStray: (taskId: string, what: string, message: string) => void;
  readonly #channelName = `steward:${randomUUID()}`;
  #channel: BroadcastChannel | undefined;
  /** Extra pools for task types with their own resource limits, by those limits. */
  readonly #limitedPools = new Map<string, Piscina>();

  constructor(options: WorkerPoolOptions, onPoolError: (error: unknown) => void, onStray: (taskId: string, what: string, message: string) => void = () => undefined) {
    this.#options = options;
    this.#onPoolError = onPoolError;
    this.#onStray = onStray;
    this.#pool = this.#createPool(options.resourceLimits);
  }

  #poolFor(limits: WorkerPoolOptions['resourceLimits'] | undefined): Piscina {
    if (limits === undefined) return this.#pool;
    // Limits are a property of a thread, so a type with its own limits gets its own pool.
    const key = JSON.stringify(limits);
    let pool = this.#limitedPools.get(key);
    if (pool === undefined) {
      pool = this.#createPool(limits);
      this.#limitedPools.set(key, pool);
    }
    return pool;
  }

  #createPool(resourceLimits: WorkerPoolOptions['resourceLimits']): Piscina {
    const options = this.#options;
    const pool = new Piscina({
      filename: ENTRY,
      minThreads: options.minThreads,
      maxThreads: options.maxThreads,
      idleTimeout: options.idleTimeoutMs,
      ...(resourceLimits === undefined ? {} : { resourceLimits }),
    });
    pool.on('message', (message: unknown) => this.#onEvent(message));
    // A thread that fails with no task on it (between tasks) must not take the host
    // down; Piscina has already replaced it, and the supervisor counts it.
    pool.on('error', (error: unknown) => this.#onPoolError(error));
    return pool;
  }

  /** Replaces the pool: attempts still on the old one end as crashed. */
  async restart(): Promise<void> {
    const old = [this.#pool, ...this.#limitedPools.values()];
    this.#limitedPools.clear();
    this.#pool = this.#createPool(this.#options.resourceLimits);
    await Promise.all(old.map((pool) => pool.destroy()));
  }

  /** Threads alive now. */
  get threads(): number {
    let threads = this.#pool.threads.length;
    for (const pool of this.#limitedPools.values()) threads += pool.threads.length;
    return threads;
  }

  execute(request: ExecutionRequest, sink: ExecutionSink): void {
    const definition = request.definition;
    const task: WorkerTask = {
      taskId: request.taskId,
      attempt: request.attempt,
      moduleUrl: definition.moduleUrl as string,
      exportName: definition.exportName ?? DEFINITION_DEFAULTS.export,
      input: request.input,
      dependencies: request.dependencies,
      steps: request.steps,
      waits: request.waits ?? {},
      channel: this.#channelName,
      ...(request.traceContext === undefined ? {} : { traceContext: request.traceContext }),
    };
    const active: ActiveAttempt = { attempt: request.attempt, sink, received: 0, reply: undefined };
    this.#active.set(request.taskId, active);
    this.#poolFor(definition.resourceLimits).run(task, { signal: request.signal }).then(
      (reply: WorkerReply) => {
        if (active.received >= reply.sent) this.#finish(request.taskId, active, reply);
        else active.reply = reply; // events still in flight on the other port
      },
      (error: unknown) => {
        this.#forget(request.taskId, active);
        if (request.signal.aborted) return; // the attempt already ended as timed out or cancelled
        const { error: failure, crashed } = crashError(error);
        if (crashed) sink.crashed(failure);
        else sink.failed(failure);
      },
    );
  }

  async close(): Promise<void> {
    this.#active.clear();
    this.#channel?.close();
    this.#channel = undefined;
    await Promise.all([this.#pool, ...this.#limitedPools.values()].map((pool) => pool.destroy()));
    this.#limitedPools.clear();
  }

  #onEvent(message: unknown): void {
    if (!isWorkerEvent(message)) return;
    if (message.kind === 'stray') {
      this.#onStray(message.taskId, message.what, message.message);
      return;
    }
    const active = this.#active.get(message.taskId);
    if (active === undefined || active.attempt !== message.attempt) return;
    active.received++;
    if (message.kind === 'token') {
      const answer = (reply: WorkerAnswer) => this.#answer(reply);
      active.sink.rateLimit(message.bucket, message.cost).then(
        () => answer({ reqId: message.reqId, ok: true }),
        (error: unknown) => {
          const e = error as { code?: unknown; message?: unknown };
          answer({ reqId: message.reqId, ok: false, code: typeof e?.code === 'string' ? e.code : 'STEWARD_HANDLER_ERROR', message: String(e?.message ?? error) });
        },
      );
    } else if (message.kind === 'usage') active.sink.reportUsage?.(message.bucket, message.used);
    else if (message.kind === 'progress') active.sink.progress(message.percent, message.message);
    else if (message.kind === 'step') active.sink.step(message.name, message.result);
    else active.sink.output('log', message.data);
    if (active.reply !== undefined && active.received >= active.reply.sent) this.#finish(message.taskId, active, active.reply);
  }

  #answer(reply: WorkerAnswer): void {
    if (this.#channel === undefined) {
      this.#channel = new BroadcastChannel(this.#channelName);
      (this.#channel as unknown as { unref?: () => void }).unref?.();
    }
    this.#channel.postMessage(reply);
  }

  #finish(taskId: string, active: ActiveAttempt, reply: WorkerReply): void {
    this.#forget(taskId, active);
    if (reply.cpuMs !== undefined) active.sink.resourcesUsed?.({ cpuMs: reply.cpuMs });
    if (reply.kind === 'ok') active.sink.succeeded(reply.value);
    else if (reply.kind === 'error') active.sink.failed(reply.error);
    else if (active.sink.suspend !== undefined) active.sink.suspend(reply.request);
    else active.sink.failed(taskError('STEWARD_HANDLER_ERROR', `this runtime cannot suspend the task for ${reply.request.kind} "${reply.request.name}"`, false));
  }

  #forget(taskId: string, active: ActiveAttempt): void {
    if (this.#active.get(taskId) === active) this.#active.delete(taskId);
  }
}
