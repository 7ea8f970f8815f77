import { z } from 'zod';
import type { LogStore } from '@steward/store';
import type { Clock } from '../time/clock.js';
import type { Executor } from '../executors/executor.js';
import type { TaskDefinition } from './task-definition.js';
import type { Logger } from './logger.js';
import { webhookOptionsSchema } from '../webhooks/webhook-options.js';
import { resourceGuardOptionsSchema } from '../coordination/resource-guard-options.js';
import { scheduleIdSchema, scheduleSpecSchema } from '../schedules/schedule-spec.js';
import {
  fnSchema,
  hasMethods,
  prioritySchema,
  rateLimitSchema,
  recoverySchema,
  reportsOptionsSchema,
  retentionSchema,
  shapedAs,
  supervisionSchema,
  workersOptionsSchema,
} from './schemas.js';

const executorSchema = z.object({ kind: z.string().min(1), execute: fnSchema(), close: fnSchema(), validate: fnSchema().optional(), restart: fnSchema().optional() }).passthrough();

/** Validated shape of the runtime options (objects such as clocks and executors are checked loosely). */
export const runtimeOptionsSchema = z.strictObject({
  dataDir: z.string().min(1).optional(),
  durability: z.enum(['batched', 'strict']).optional(),
  concurrency: z.number().int().min(1).max(100_000).optional(),
  maxQueue: z.number().int().min(1).optional(),
  maxPayloadBytes: z.number().int().min(1).optional(),
  maxOutputBytes: z.number().int().min(1_024).optional(),
  workers: workersOptionsSchema.optional(),
  priorities: z.record(z.string().min(1), z.number().finite()).optional(),
  agingMs: z.number().int().min(0).optional(),
  reports: reportsOptionsSchema.optional(),
  webhooks: webhookOptionsSchema.optional(),
  rateLimits: z
    .record(z.string().min(1).refine((name) => name !== 'waits' && name !== 'available', { message: "'waits' and 'available' are names metrics().rateLimits keeps for itself" }), rateLimitSchema)
    .optional(),
  resourceGuard: resourceGuardOptionsSchema.optional(),
  snapshotEvery: z.number().int().min(1).optional(),
  retention: retentionSchema.optional(),
  supervision: supervisionSchema.optional(),
  recovery: recoverySchema.optional(),
  defaultPriority: prioritySchema.optional(),
  tasks: z.record(z.string().min(1), shapedAs<TaskDefinition>(z.record(z.string(), z.unknown()))).optional(),
  schedules: z.record(scheduleIdSchema, scheduleSpecSchema).optional(),
  executors: z.array(shapedAs<Executor>(executorSchema)).optional(),
  // Objects passed in are checked for the methods the runtime calls, so a wrong one is refused here, not later as a TypeError.
  store: hasMethods<LogStore>('a LogStore', ['append', 'read', 'saveSnapshot', 'loadSnapshot', 'dropBelow', 'appendBlob', 'readBlobs', 'closeBlob', 'dropBlobs', 'flush', 'close']).optional(),
  clock: hasMethods<Clock>('a Clock', ['now', 'setTimeout', 'clearTimeout']).optional(),
  idGenerator: fnSchema<() => string>().optional(),
  random: fnSchema<() => number>().optional(),
  logger: hasMethods<Logger>('a logger', ['warn', 'error']).optional(),
});

/**
 * Options of `createRuntime`. Every field is optional; the defaults are in
 * `RUNTIME_DEFAULTS` (and the objects it names for webhooks and the resource guard).
 *
 * - `dataDir`: directory of the LevelDB journal. Omitted: in memory, nothing survives the process.
 * - `durability`: `'strict'`: submit() resolves after fsync (default 'batched').
 * - `concurrency`: running tasks at once, all types together (default: the CPU count).
 * - `maxQueue`: tasks waiting (queued, retrying) at most; more are refused with
 *   STEWARD_QUEUE_FULL (default 1_000_000).
 * - `maxPayloadBytes`: largest input accepted, serialized (default 16 MiB).
 * - `maxOutputBytes`: output kept per task; past it the oldest chunks go (the tail is kept) (default 1 MiB).
 * - `workers`: the worker-thread pool (`WorkersOptions`).
 * - `priorities`: named priority levels (default `DEFAULT_PRIORITIES`:
 *   { critical: 5, high: 4, medium: 3, low: 2, background: 1 }).
 * - `defaultPriority`: priority of a task that names none (default 'medium', or the
 *   first level when `priorities` has no 'medium').
 * - `agingMs`: waiting this long raises a task by one priority unit (one default level);
 *   0 turns aging off (default 30_000).
 * - `snapshotEvery`: snapshot the state (and compact the journal below it) every this
 *   many records, and at clean shutdown (default 10_000).
 * - `retention`: how long ended tasks are kept before compaction forgets them
 *   (default { completedMs: 7 days, failedMs: 30 days }).
 * - `recovery`: what recovery does with an attempt the process died in. It is queued
 *   again; `interruptionSpendsRetry` (default false: a crash of the host is not the
 *   task's fault) and `maxInterruptions` (default 5: then it fails with
 *   STEWARD_INTERRUPTED, so a task that kills its host cannot loop forever).
 *   `onCorruption` is what opening does with a damaged journal (records missing in
 *   the middle, or one that cannot be read): `'refuse'` (the default) fails with
 *   STEWARD_STORE_CORRUPT and changes nothing; `'salvage'` keeps every readable
 *   record, reports what was lost in `rt.recovery.lost`, and snapshots at once so the
 *   gap is not met again.
 * - `supervision`: default crash intensity of every task type: past `maxRestarts`
 *   crashed executions within `withinMs`, the type is quarantined for `quarantineMs`
 *   (its tasks wait) (default { maxRestarts: 5, withinMs: 60_000, quarantineMs: 60_000 }).
 * - `rateLimits`: named rate-limit buckets: never more than `limit` units in any window
 *   of `intervalMs`; a start takes 1, `ctx.rateLimit(bucket, { cost })` takes `cost`.
 * - `resourceGuard`: watches CPU and memory and throttles admission above the limits
 *   (`ResourceGuardOptions`) (default: off).
 * - `webhooks`: webhook delivery: retries, timeout, and whether private addresses may
 *   be called (`WebhookOptions`).
 * - `reports`: write a summary report on a schedule: `{ every: 'daily' | 'weekly', dir }` (default: none).
 * - `tasks`: task types to define at once, the same as calling define() for each.
 * - `schedules`: schedules by id (`ScheduleSpec`), the same as calling schedule() for
 *   each once the journal is recovered; one unchanged since the last run keeps its state.
 * - `executors`: extra executors (the process executor of @steward/adapters, or your own), by `kind`.
 * - `store`: a log store to journal to instead of the default one (for tests and embedders).
 * - `clock`: time source (default: the system clock).
 * - `idGenerator`: task id generator (default crypto.randomUUID).
 * - `random`: random source in [0, 1), for jitter (default Math.random).
 * - `logger`: where warnings go (default console).
 */
export type RuntimeOptions = z.input<typeof runtimeOptionsSchema>;
