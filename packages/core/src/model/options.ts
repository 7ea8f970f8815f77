import { availableParallelism } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { LogStore } from '@steward/store';
import { type Clock, systemClock } from '../time/clock.js';
import { InvalidOptionsError } from './errors.js';
import type { Executor } from '../executors/executor.js';
import { describeZodError, runtimeOptionsSchema } from './schemas.js';
import type { RateLimit } from '../coordination/rate-buckets.js';
import type { WebhookOptions } from '../webhooks/webhook-options.js';
import type { ReportsOptions } from '../reports/report-schedule.js';
import { systemSampler, type ResourceGuardOptions } from '../coordination/resource-guard.js';
import type { SupervisionPolicy } from '../supervision/supervision.js';
import type { TaskDefinition } from './task-definition.js';
import type { Logger } from './logger.js';
import type { WorkersOptions } from '../executors/worker/worker-options.js';
import { DEFAULT_PRIORITIES, resolvePriority } from '../scheduling/priorities.js';

/** Options of `createRuntime`. Every field is optional. */
export interface RuntimeOptions {
  /** Directory of the LevelDB journal. Omitted: in memory, nothing survives the process. */
  dataDir?: string;
  /** `strict`: submit() resolves after fsync. @defaultValue 'batched' */
  durability?: 'batched' | 'strict';
  /** Running tasks at once, all types together. @defaultValue the CPU count */
  concurrency?: number;
  /** Tasks waiting (queued, retrying) at most; more are refused with STEWARD_QUEUE_FULL. @defaultValue 1_000_000 */
  maxQueue?: number;
  /** Largest input accepted, serialized. @defaultValue 16 MiB */
  maxPayloadBytes?: number;
  /** Output kept per task; past it the oldest chunks go (the tail is kept). @defaultValue 1 MiB */
  maxOutputBytes?: number;
  /** The worker-thread pool. */
  workers?: WorkersOptions;
  /** Named priority levels. @defaultValue { critical: 5, high: 4, medium: 3, low: 2, background: 1 } */
  priorities?: Record<string, number>;
  /** Priority of a task that names none. @defaultValue 'medium' */
  defaultPriority?: string | number;
  /** Waiting this long raises a task by one priority unit (one default level); 0 turns aging off. @defaultValue 30_000 */
  agingMs?: number;
  /** Snapshot the state (and compact the journal below it) every this many records, and at clean shutdown. @defaultValue 10_000 */
  snapshotEvery?: number;
  /** How long ended tasks are kept before compaction forgets them. @defaultValue { completedMs: 7 days, failedMs: 30 days } */
  retention?: { completedMs?: number; failedMs?: number };
  /**
   * What recovery does with an attempt the process died in. It is queued again;
   * `interruptionSpendsRetry` (default false: a crash of the host is not the task's
   * fault) and `maxInterruptions` (default 5: then it fails with STEWARD_INTERRUPTED,
   * so a task that kills its host cannot loop forever).
   */
  recovery?: {
    interruptionSpendsRetry?: boolean;
    maxInterruptions?: number;
    /**
     * What opening does with a damaged journal (records missing in the middle, or one
     * that cannot be read): `'refuse'` (the default) fails with STEWARD_STORE_CORRUPT
     * and changes nothing; `'salvage'` keeps every readable record, reports what was
     * lost in `rt.recovery.lost`, and snapshots at once so the gap is not met again.
     */
    onCorruption?: 'refuse' | 'salvage';
  };
  /**
   * Default crash intensity of every task type: past `maxRestarts` crashed executions
   * within `withinMs`, the type is quarantined for `quarantineMs` (its tasks wait).
   * @defaultValue { maxRestarts: 5, withinMs: 60_000, quarantineMs: 60_000 }
   */
  supervision?: { maxRestarts?: number; withinMs?: number; quarantineMs?: number };
  /** Named rate-limit buckets: never more than `limit` starts (or `ctx.rateLimit` takes) in any window of `intervalMs`. */
  rateLimits?: Record<string, RateLimit>;
  /** Watches CPU and memory and throttles admission above the limits (see ResourceGuardOptions). @defaultValue off */
  resourceGuard?: ResourceGuardOptions;
  /** Webhook delivery: retries, timeout, and whether private addresses may be called. */
  webhooks?: WebhookOptions;
  /** Write a summary report on a schedule: `{ every: 'daily' | 'weekly', dir }`. @defaultValue none */
  reports?: ReportsOptions;
  /** Task types to define at once, the same as calling define() for each. */
  tasks?: Record<string, TaskDefinition>;
  /** Extra executors (the process executor of @steward/adapters, or your own), by `kind`. */
  executors?: Executor[];
  /** A log store to journal to instead of the default one (for tests and embedders). */
  store?: LogStore;
  /** Time source. @defaultValue the system clock */
  clock?: Clock;
  /** Task id generator. @defaultValue crypto.randomUUID */
  idGenerator?: () => string;
  /** Random source in [0, 1), for jitter. @defaultValue Math.random */
  random?: () => number;
  /** Where warnings go. @defaultValue console */
  logger?: Logger;
}

/** Options after defaults and validation. */
export interface ResolvedRuntimeOptions {
  readonly dataDir: string | undefined;
  readonly durability: 'batched' | 'strict';
  readonly concurrency: number;
  readonly maxQueue: number;
  readonly maxPayloadBytes: number;
  readonly maxOutputBytes: number;
  readonly workers: Required<Pick<WorkersOptions, 'minThreads' | 'maxThreads' | 'idleTimeoutMs'>> &
    Pick<WorkersOptions, 'resourceLimits'>;
  readonly priorities: Readonly<Record<string, number>>;
  readonly defaultPriority: number;
  readonly agingMs: number;
  readonly snapshotEvery: number;
  readonly retention: { readonly completedMs: number; readonly failedMs: number };
  readonly recovery: { readonly interruptionSpendsRetry: boolean; readonly maxInterruptions: number; readonly onCorruption: 'refuse' | 'salvage' };
  readonly supervision: Readonly<SupervisionPolicy>;
  readonly rateLimits: Readonly<Record<string, RateLimit>>;
  readonly webhooks: WebhookOptions;
  readonly reports: ReportsOptions | undefined;
  readonly resourceGuard:
    | (Required<Pick<ResourceGuardOptions, 'intervalMs' | 'hysteresisPercent' | 'sampler'>> &
        Pick<ResourceGuardOptions, 'maxCpuPercent' | 'maxMemoryMb'> & { readonly protect: number })
    | undefined;
  readonly tasks: Readonly<Record<string, TaskDefinition>>;
  readonly executors: readonly Executor[];
  readonly store: LogStore | undefined;
  readonly clock: Clock;
  readonly idGenerator: () => string;
  readonly random: () => number;
  readonly logger: Logger;
}

/** Defaults of every runtime option that has one. */
export const RUNTIME_DEFAULTS = Object.freeze({
  durability: 'batched' as const,
  maxQueue: 1_000_000,
  maxPayloadBytes: 16 * 1024 * 1024,
  maxOutputBytes: 1024 * 1024,
  agingMs: 30_000,
  defaultPriority: 'medium',
  idleTimeoutMs: 30_000,
  minThreads: 1,
  snapshotEvery: 10_000,
  retentionCompletedMs: 7 * 86_400_000,
  retentionFailedMs: 30 * 86_400_000,
  interruptionSpendsRetry: false,
  maxInterruptions: 5,
  supervision: Object.freeze({ maxRestarts: 5, withinMs: 60_000, quarantineMs: 60_000 }),
});

/** Validates the options, fills in defaults and normalises them. */
export function resolveRuntimeOptions(options: RuntimeOptions = {}): ResolvedRuntimeOptions {
  if (options === null || typeof options !== 'object') throw new InvalidOptionsError('options must be an object');
  const parsed = runtimeOptionsSchema.safeParse(options);
  if (!parsed.success) throw new InvalidOptionsError(describeZodError('options', parsed.error));
  const concurrency = options.concurrency ?? Math.max(1, availableParallelism());
  const priorities = Object.freeze({ ...(options.priorities ?? DEFAULT_PRIORITIES) });
  if (Object.keys(priorities).length === 0) throw new InvalidOptionsError('options.priorities must name at least one level');
  const defaultPriorityName = options.defaultPriority ?? (Object.hasOwn(priorities, 'medium') ? 'medium' : Object.values(priorities)[0] ?? 0);
  const maxThreads = options.workers?.maxThreads ?? concurrency;
  const minThreads = Math.min(options.workers?.minThreads ?? RUNTIME_DEFAULTS.minThreads, maxThreads);
  const kinds = new Set<string>();
  if (options.dataDir !== undefined && options.store !== undefined) {
    throw new InvalidOptionsError('options.store and options.dataDir exclude each other: dataDir opens its own LevelDB store');
  }
  for (const executor of options.executors ?? []) {
    if (kinds.has(executor.kind)) throw new InvalidOptionsError(`options.executors has two executors of kind "${executor.kind}"`);
    kinds.add(executor.kind);
  }
  return Object.freeze({
    dataDir: options.dataDir,
    durability: options.durability ?? RUNTIME_DEFAULTS.durability,
    concurrency,
    maxQueue: options.maxQueue ?? RUNTIME_DEFAULTS.maxQueue,
    maxPayloadBytes: options.maxPayloadBytes ?? RUNTIME_DEFAULTS.maxPayloadBytes,
    maxOutputBytes: options.maxOutputBytes ?? RUNTIME_DEFAULTS.maxOutputBytes,
    workers: Object.freeze({
      minThreads,
      maxThreads,
      idleTimeoutMs: options.workers?.idleTimeoutMs ?? RUNTIME_DEFAULTS.idleTimeoutMs,
      resourceLimits: options.workers?.resourceLimits,
    }),
    priorities,
    defaultPriority: resolvePriority(defaultPriorityName, priorities, 'options.defaultPriority'),
    agingMs: options.agingMs ?? RUNTIME_DEFAULTS.agingMs,
    snapshotEvery: options.snapshotEvery ?? RUNTIME_DEFAULTS.snapshotEvery,
    retention: Object.freeze({
      completedMs: options.retention?.completedMs ?? RUNTIME_DEFAULTS.retentionCompletedMs,
      failedMs: options.retention?.failedMs ?? RUNTIME_DEFAULTS.retentionFailedMs,
    }),
    rateLimits: Object.freeze({ ...options.rateLimits }),
    webhooks: Object.freeze({ ...options.webhooks }),
    reports: options.reports === undefined ? undefined : Object.freeze({ ...options.reports }),
    resourceGuard:
      options.resourceGuard === undefined
        ? undefined
        : Object.freeze({
            maxCpuPercent: options.resourceGuard.maxCpuPercent,
            maxMemoryMb: options.resourceGuard.maxMemoryMb,
            protect: resolvePriority(options.resourceGuard.protect ?? 'high', priorities, 'options.resourceGuard.protect'),
            intervalMs: options.resourceGuard.intervalMs ?? 1_000,
            hysteresisPercent: options.resourceGuard.hysteresisPercent ?? 10,
            sampler: options.resourceGuard.sampler ?? systemSampler(),
          }),
    supervision: Object.freeze({
      maxRestarts: options.supervision?.maxRestarts ?? RUNTIME_DEFAULTS.supervision.maxRestarts,
      withinMs: options.supervision?.withinMs ?? RUNTIME_DEFAULTS.supervision.withinMs,
      quarantineMs: options.supervision?.quarantineMs ?? RUNTIME_DEFAULTS.supervision.quarantineMs,
    }),
    recovery: Object.freeze({
      interruptionSpendsRetry: options.recovery?.interruptionSpendsRetry ?? RUNTIME_DEFAULTS.interruptionSpendsRetry,
      maxInterruptions: options.recovery?.maxInterruptions ?? RUNTIME_DEFAULTS.maxInterruptions,
      onCorruption: options.recovery?.onCorruption ?? 'refuse',
    }),
    tasks: options.tasks ?? {},
    executors: options.executors ?? [],
    store: options.store,
    clock: options.clock ?? systemClock,
    idGenerator: options.idGenerator ?? randomUUID,
    random: options.random ?? Math.random,
    logger: options.logger ?? console,
  });
}
