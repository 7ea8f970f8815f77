import type { z } from 'zod';
import type { workersOptionsSchema } from '../../model/schemas.js';

/**
 * Options of the worker-thread pool (defaults in `RUNTIME_DEFAULTS`):
 * - `minThreads`: threads kept alive when idle (default 1).
 * - `maxThreads`: upper bound of threads (default: the runtime's `concurrency`).
 * - `idleTimeoutMs`: an idle thread above `minThreads` ends after this long (default 30_000).
 * - `maxBatch`: most tasks handed to one thread in one message (default 32; 1 turns
 *   batching off). Batches form only when more tasks are running than there are
 *   threads, which takes a `concurrency` above `maxThreads`: see WorkerExecutor.
 * - `resourceLimits`: V8 limits of each thread (`maxOldGenerationSizeMb`,
 *   `maxYoungGenerationSizeMb`, `codeRangeSizeMb`, `stackSizeMb`); a thread past them
 *   crashes its own attempt only.
 */
export type WorkersOptions = z.input<typeof workersOptionsSchema>;
