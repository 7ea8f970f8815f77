import { randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import { BroadcastChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { ExecutionRequest, ExecutionSink, Executor } from '../executor.js';
import type { WorkersOptions } from './worker-options.js';
import { DEFINITION_DEFAULTS } from '../../model/task-definition.js';
import { BATCH_INTERRUPTION } from '../../journal/journal-record.js';

/** The pool's options, resolved. */
export type WorkerPoolOptions = Required<Pick<WorkersOptions, 'minThreads' | 'maxThreads' | 'idleTimeoutMs'>> & Pick<WorkersOptions, 'resourceLimits' | 'maxBatch'>;
import { taskError, type TaskError } from '../../model/task-error.js';
import { isWorkerEvent, type WorkerAnswer, type WorkerBatch, type WorkerReply, type WorkerTask } from './worker-protocol.js';

type Writable<T> = { -readonly [K in keyof T]: T[K] };

function hasAny(record: object): boolean {
  for (const _ in record) return true;
  return false;
}

interface ActiveAttempt {
  readonly attempt: number;
  readonly sink: ExecutionSink;
  received: number;
  /** Set when the reply arrived before every event it counts. */
  reply: WorkerReply | undefined;
  /** Set once its end went to the sink (or it was handed back as interrupted). */
  done: boolean;
}

/** A task handed to execute(), waiting for a thread or on one. */
interface Queued {
  readonly taskId: string;
  readonly task: WorkerTask;
  readonly signal: AbortSignal;
  readonly active: ActiveAttempt;
}

/** A pool and the tasks waiting for its threads; `running` counts the messages (tasks or batches) on them. */
interface Lane {
  readonly pool: Piscina;
  readonly waiting: Queued[];
  running: number;
}

/**
 * How many waiting tasks go to the next free thread in one message: spread over the
 * free threads, at most `maxBatch`; one when no more wait than there are free threads.
 */
export function batchSize(waiting: number, freeThreads: number, maxBatch: number): number {
  if (waiting <= 0 || freeThreads <= 0) return 0;
  return Math.min(maxBatch, Math.ceil(waiting / freeThreads));
}

/** The file each thread loads: CommonJS, so that Piscina's require() of it never takes Node's require(esm) path (see worker-boot.cts). */
export const WORKER_ENTRY = new URL('./worker-boot.cjs', import.meta.url).href;

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
 *
 * Batching: a task handed over while every thread is busy waits here, not in the
 * pool; when a thread frees, the waiting tasks go to it several at once (see
 * batchSize), so one round trip carries many tasks while the queue stays deep, and
 * each goes alone again at low load. The thread runs a batch's tasks one after
 * another, each with its own outcome, progress, output, steps and CPU time. When one
 * of them must be stopped (timeout, cancel) or crashes the thread, the thread is
 * terminated as for a single task, and the others of its batch that had not ended
 * are handed back as interrupted (`sink.interrupted`): they run again, no retry spent.
 * This only happens while more tasks run than there are threads, that is with a
 * runtime `concurrency` above `workers.maxThreads`.
 */
export class WorkerExecutor implements Executor {
  readonly kind = 'worker';
  #lane: Lane;
  readonly #active = new Map<string, ActiveAttempt>();
  readonly #options: WorkerPoolOptions;
  readonly #maxBatch: number;
  readonly #onPoolError: (error: unknown) => void;

  readonly #onStray: (taskId: string, what: string, message: string) => void;
  readonly #channelName = `steward:${randomUUID()}`;
  #channel: BroadcastChannel | undefined;
  #messages = 0;
  /** Extra lanes for task types with their own resource limits, by those limits. */
  readonly #limitedLanes = new Map<string, Lane>();

  constructor(options: WorkerPoolOptions, onPoolError: (error: unknown) => void, onStray: (taskId: string, what: string, message: string) => void = () => undefined) {
    this.#options = options;
    this.#maxBatch = options.maxBatch ?? 32;
    this.#onPoolError = onPoolError;
    this.#onStray = onStray;
    this.#lane = this.#createLane(options.resourceLimits);
  }

  #laneFor(limits: WorkerPoolOptions['resourceLimits'] | undefined): Lane {
    if (limits === undefined) return this.#lane;
    // Limits are a property of a thread, so a type with its own limits gets its own pool.
    const key = JSON.stringify(limits);
    let lane = this.#limitedLanes.get(key);
    if (lane === undefined) {
      lane = this.#createLane(limits);
      this.#limitedLanes.set(key, lane);
    }
    return lane;
  }

  #createLane(resourceLimits: WorkerPoolOptions['resourceLimits'], waiting: Queued[] = []): Lane {
    const options = this.#options;
    const pool = new Piscina({
      filename: WORKER_ENTRY,
      minThreads: options.minThreads,
      maxThreads: options.maxThreads,
      idleTimeout: options.idleTimeoutMs,
      ...(resourceLimits === undefined ? {} : { resourceLimits }),
    });
    pool.on('message', (message: unknown) => this.#onEvent(message));
    // A thread that fails with no task on it (between tasks) must not take the host
    // down; Piscina has already replaced it, and the supervisor counts it.
    pool.on('error', (error: unknown) => this.#onPoolError(error));
    return { pool, waiting, running: 0 };
  }

  /** Replaces the pools: attempts still on the old ones end as crashed; those waiting for a thread go to the new ones. */
  async restart(): Promise<void> {
    const old = [this.#lane, ...this.#limitedLanes.values()];
    const limited = [...this.#limitedLanes.entries()];
    // Moved, not shared: an old lane freed by its dying pool must find nothing left to run.
    this.#lane = this.#createLane(this.#options.resourceLimits, this.#lane.waiting.splice(0));
    for (const [key, lane] of limited) this.#limitedLanes.set(key, this.#createLane(JSON.parse(key) as WorkerPoolOptions['resourceLimits'], lane.waiting.splice(0)));
    for (const lane of [this.#lane, ...this.#limitedLanes.values()]) this.#drain(lane);
    await Promise.all(old.map((lane) => lane.pool.destroy()));
  }

  /** Messages handed to threads so far: one per task run alone, one per batch. */
  get messagesSent(): number {
    return this.#messages;
  }

  /** Threads alive now. */
  get threads(): number {
    let threads = this.#lane.pool.threads.length;
    for (const lane of this.#limitedLanes.values()) threads += lane.pool.threads.length;
    return threads;
  }

  execute(request: ExecutionRequest, sink: ExecutionSink): void {
    const definition = request.definition;
    const task: Writable<WorkerTask> = {
      taskId: request.taskId,
      attempt: request.attempt,
      moduleUrl: definition.moduleUrl as string,
      exportName: definition.exportName ?? DEFINITION_DEFAULTS.export,
      input: request.input,
    };
    // Only what is there crosses: every field is cloned once per task.
    if (hasAny(request.dependencies)) task.dependencies = request.dependencies;
    if (hasAny(request.steps)) task.steps = request.steps;
    if (request.waits !== undefined && hasAny(request.waits)) task.waits = request.waits;
    if (request.traceContext !== undefined) task.traceContext = request.traceContext;
    const active: ActiveAttempt = { attempt: request.attempt, sink, received: 0, reply: undefined, done: false };
    this.#active.set(request.taskId, active);
    const lane = this.#laneFor(definition.resourceLimits);
    lane.waiting.push({ taskId: request.taskId, task, signal: request.signal, active });
    this.#drain(lane);
  }

  /** Hands waiting tasks to free threads: alone at low load, in batches while the queue is deep. */
  #drain(lane: Lane): void {
    const waiting = lane.waiting;
    while (waiting.length > 0 && lane.running < this.#options.maxThreads) {
      const size = batchSize(waiting.length, this.#options.maxThreads - lane.running, this.#maxBatch);
      const members: Queued[] = [];
      while (members.length < size && waiting.length > 0) {
        const next = waiting.shift() as Queued;
        // Stopped while it waited: its attempt has ended, and nothing of it ran.
        if (next.signal.aborted) this.#forget(next.taskId, next.active);
        else members.push(next);
      }
      if (members.length === 1) this.#runOne(lane, members[0] as Queued);
      else if (members.length > 1) this.#runBatch(lane, members);
    }
  }

  #runOne(lane: Lane, { taskId, task, signal, active }: Queued): void {
    lane.running++;
    this.#messages++;
    lane.pool.run({ ...task, channel: this.#channelName }, { signal }).then(
      (reply: WorkerReply) => {
        this.#freed(lane);
        if (active.received >= reply.sent) this.#finish(taskId, active, reply);
        else active.reply = reply; // events still in flight on the other port
      },
      (error: unknown) => {
        this.#freed(lane);
        this.#forget(taskId, active);
        if (signal.aborted) return; // the attempt already ended as timed out or cancelled
        const { error: failure, crashed } = crashError(error);
        if (crashed) active.sink.crashed(failure);
        else active.sink.failed(failure);
      },
    );
  }

  #runBatch(lane: Lane, members: Queued[]): void {
    lane.running++;
    this.#messages++;
    // Stopping one member stops the thread, and with it the batch.
    const stop = new AbortController();
    const onAbort = () => stop.abort();
    for (const member of members) member.signal.addEventListener('abort', onAbort, { once: true });
    const cleanUp = () => {
      for (const member of members) member.signal.removeEventListener('abort', onAbort);
      this.#freed(lane);
    };
    const batch: WorkerBatch = { batch: members.map((member) => member.task), channel: this.#channelName };
    lane.pool.run(batch, { signal: stop.signal }).then(cleanUp, (error: unknown) => {
      cleanUp();
      // A turn later, so that replies the thread posted before it ended are read first.
      setImmediate(() => this.#batchStopped(lane, members, stop.signal.aborted, error));
    });
  }

  /** A batch's thread ended before all its tasks did: a crash is the running task's; the others run again. */
  #batchStopped(lane: Lane, members: Queued[], aborted: boolean, error: unknown): void {
    let crashed = aborted; // an abort is the stopped member's own end, reported by the runtime
    for (const member of members) {
      if (member.active.done || this.#active.get(member.taskId) !== member.active) continue;
      if (member.signal.aborted) {
        this.#forget(member.taskId, member.active);
        continue;
      }
      if (!crashed) {
        // The first task without a reply was the one running when the thread died.
        crashed = true;
        this.#forget(member.taskId, member.active);
        const { error: failure, crashed: died } = crashError(error);
        if (died) member.active.sink.crashed(failure);
        else member.active.sink.failed(failure);
        continue;
      }
      this.#interrupt(lane, member);
    }
    this.#drain(lane);
  }

  #interrupt(lane: Lane, member: Queued): void {
    const { active } = member;
    if (active.sink.interrupted !== undefined) {
      this.#forget(member.taskId, active);
      active.sink.interrupted(BATCH_INTERRUPTION);
      return;
    }
    // A sink that cannot take it back: run it again here, first in line.
    active.received = 0;
    active.reply = undefined;
    lane.waiting.unshift(member);
  }

  #freed(lane: Lane): void {
    lane.running--;
    if (lane.waiting.length > 0) this.#drain(lane);
  }

  async close(): Promise<void> {
    this.#active.clear();
    this.#channel?.close();
    this.#channel = undefined;
    const lanes = [this.#lane, ...this.#limitedLanes.values()];
    for (const lane of lanes) lane.waiting.length = 0;
    await Promise.all(lanes.map((lane) => lane.pool.destroy()));
    this.#limitedLanes.clear();
  }

  #onEvent(message: unknown): void {
    if (!isWorkerEvent(message)) return;
    if (message.kind === 'stray') {
      this.#onStray(message.taskId, message.what, message.message);
      return;
    }
    const active = this.#active.get(message.taskId);
    if (active === undefined || active.attempt !== message.attempt) return;
    if (message.kind === 'reply') {
      // A batch's task: its reply follows its events on the same port.
      this.#finish(message.taskId, active, message.reply);
      return;
    }
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
    active.done = true;
    if (this.#active.get(taskId) === active) this.#active.delete(taskId);
  }
}
