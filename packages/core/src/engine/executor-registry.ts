import type { Executor } from '../executors/executor.js';
import { InlineExecutor } from '../executors/inline-executor.js';
import { WorkerExecutor } from '../executors/worker/worker-executor.js';
import type { ResolvedRuntimeOptions } from '../model/options.js';

/**
 * The executors by kind: inline always, the ones given in the options, and the
 * worker-thread pool, made the first time a worker type is defined.
 */
export class ExecutorRegistry {
  readonly #executors = new Map<string, Executor>();
  readonly #options: ResolvedRuntimeOptions;
  readonly #workerFailed: (error: unknown) => void;

  /** `workerFailed`: a worker thread died between tasks (its supervisor hears of it). */
  constructor(options: ResolvedRuntimeOptions, workerFailed: (error: unknown) => void) {
    this.#options = options;
    this.#workerFailed = workerFailed;
    this.#executors.set('inline', new InlineExecutor());
    for (const executor of options.executors) this.#executors.set(executor.kind, executor);
  }

  /** The executors by kind, for the dispatcher. */
  get byKind(): ReadonlyMap<string, Executor> {
    return this.#executors;
  }

  /** Kinds a definition may name in `kind` besides inline and worker. */
  get customKinds(): Set<string> {
    return new Set([...this.#executors.keys()].filter((k) => k !== 'inline' && k !== 'worker'));
  }

  get(kind: string): Executor | undefined {
    return this.#executors.get(kind);
  }

  /** Number of threads of the worker pool, or 0 when none was started. */
  get workerThreads(): number {
    const pool = this.#executors.get('worker');
    return pool instanceof WorkerExecutor ? pool.threads : 0;
  }

  /** A type of this kind is being defined: the worker pool starts with the first worker type. */
  prepare(kind: string): void {
    if (kind !== 'worker' || this.#executors.has('worker')) return;
    const { logger } = this.#options;
    const pool = new WorkerExecutor(
      this.#options.workers,
      (error) => {
        logger.warn('steward: a worker thread failed between tasks', error);
        this.#workerFailed(error);
      },
      (taskId, what, message) => logger.warn(`steward: task ${taskId} left something behind that ${what === 'exit' ? 'called process.exit' : 'threw'} after it ended; contained: ${message}`),
    );
    this.#executors.set('worker', pool);
  }

  /** Closes every executor; one that fails to close is logged, never thrown. */
  async closeAll(): Promise<void> {
    // async: a close that throws at once is logged like one that rejects.
    const results = await Promise.allSettled([...new Set(this.#executors.values())].map(async (e) => e.close()));
    for (const result of results) {
      if (result.status === 'rejected') this.#options.logger.warn('steward: an executor failed to close', result.reason);
    }
  }
}
