/** Options of the worker-thread pool. */
export interface WorkersOptions {
  /** Threads kept alive when idle. @defaultValue 1 */
  minThreads?: number;
  /** Upper bound of threads. @defaultValue the runtime's `concurrency` */
  maxThreads?: number;
  /** An idle thread above `minThreads` ends after this long. @defaultValue 30_000 */
  idleTimeoutMs?: number;
  /** V8 limits of each thread; a thread past them crashes its own attempt only. */
  resourceLimits?: {
    maxOldGenerationSizeMb?: number;
    maxYoungGenerationSizeMb?: number;
    codeRangeSizeMb?: number;
    stackSizeMb?: number;
  };
}
