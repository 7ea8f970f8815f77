import { availableParallelism } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import type { LogStore } from '@steward/store';
import { type Clock, systemClock } from '../time/clock.js';
import { InvalidOptionsError } from './errors.js';
import type { Executor } from '../executors/executor.js';
import { describeZodError, type recoverySchema, type retentionSchema } from './schemas.js';
import { runtimeOptionsSchema, type RuntimeOptions } from './runtime-options-schema.js';
import type { RateLimit } from '../coordination/rate-buckets.js';
import { WEBHOOK_DEFAULTS, type WebhookOptions } from '../webhooks/webhook-options.js';
import type { ReportsOptions } from '../reports/report-schedule.js';
import { systemSampler } from '../coordination/resource-guard.js';
import { RESOURCE_GUARD_DEFAULTS, type ResourceGuardOptions } from '../coordination/resource-guard-options.js';
import type { SupervisionPolicy } from '../supervision/supervision.js';
import type { TaskDefinition } from './task-definition.js';
import type { Logger } from './logger.js';
import type { WorkersOptions } from '../executors/worker/worker-options.js';
import type { ScheduleSpec } from '../schedules/schedule-spec.js';
import { DEFAULT_PRIORITIES, resolvePriority } from '../scheduling/priorities.js';

export type { RuntimeOptions } from './runtime-options-schema.js';

/** Options after defaults and validation. */
export interface ResolvedRuntimeOptions {
  readonly dataDir: string | undefined;
  readonly durability: 'batched' | 'strict';
  readonly concurrency: number;
  readonly maxQueue: number;
  readonly maxPayloadBytes: number;
  readonly maxOutputBytes: number;
  readonly workers: Required<Pick<WorkersOptions, 'minThreads' | 'maxThreads' | 'idleTimeoutMs' | 'maxBatch'>> &
    Pick<WorkersOptions, 'resourceLimits'>;
  readonly priorities: Readonly<Record<string, number>>;
  readonly defaultPriority: number;
  readonly agingMs: number;
  readonly snapshotEvery: number;
  readonly retention: Readonly<Required<z.output<typeof retentionSchema>>>;
  readonly recovery: Readonly<Required<z.output<typeof recoverySchema>>>;
  readonly supervision: Readonly<SupervisionPolicy>;
  readonly rateLimits: Readonly<Record<string, RateLimit>>;
  readonly webhooks: WebhookOptions;
  readonly reports: ReportsOptions | undefined;
  readonly resourceGuard:
    | (Required<Pick<ResourceGuardOptions, 'intervalMs' | 'hysteresisPercent' | 'sampler' | 'mode' | 'floorShare'>> &
        Pick<ResourceGuardOptions, 'maxCpuPercent' | 'maxMemoryMb'> & { readonly protect: number })
    | undefined;
  readonly tasks: Readonly<Record<string, TaskDefinition>>;
  readonly schedules: Readonly<Record<string, ScheduleSpec>>;
  readonly executors: readonly Executor[];
  readonly store: LogStore | undefined;
  readonly clock: Clock;
  readonly idGenerator: () => string;
  readonly random: () => number;
  readonly logger: Logger;
}

/**
 * Defaults of every runtime option that has one: the one place they are written
 * (the resolver below reads them; the schema checks values, it fills in none).
 * `concurrency` (the CPU count) and `workers.maxThreads` (the concurrency) are
 * computed; webhooks and the resource guard keep theirs in their own objects,
 * named here as well.
 */
export const RUNTIME_DEFAULTS = Object.freeze({
  durability: 'batched' as const,
  maxQueue: 1_000_000,
  maxPayloadBytes: 16 * 1024 * 1024,
  maxOutputBytes: 1024 * 1024,
  agingMs: 30_000,
  defaultPriority: 'medium',
  idleTimeoutMs: 30_000,
  minThreads: 1,
  /** Most tasks handed to one worker thread in one message. */
  maxBatch: 32,
  snapshotEvery: 10_000,
  retentionCompletedMs: 7 * 86_400_000,
  retentionFailedMs: 30 * 86_400_000,
  interruptionSpendsRetry: false,
  maxInterruptions: 5,
  onCorruption: 'refuse' as const,
  /** How long `shutdown()` lets running work finish before it stops it. */
  shutdownTimeoutMs: 10_000,
  /** The window of `report()` when none is given: the last day. */
  reportSinceMs: 86_400_000,
  supervision: Object.freeze({ maxRestarts: 5, withinMs: 60_000, quarantineMs: 60_000 }),
  webhooks: WEBHOOK_DEFAULTS,
  resourceGuard: RESOURCE_GUARD_DEFAULTS,
});

/** Validates the options, fills in defaults and normalises them. */
export function resolveRuntimeOptions(options: RuntimeOptions = {}): ResolvedRuntimeOptions {
  if (options === null || typeof options !== 'object') throw new InvalidOptionsError('options must be an object');
  const parsed = runtimeOptionsSchema.safeParse(options);
  if (!parsed.success) throw new InvalidOptionsError(describeZodError('options', parsed.error));
  const concurrency = options.concurrency ?? Math.max(1, availableParallelism());
  const priorities = Object.freeze({ ...(options.priorities ?? DEFAULT_PRIORITIES) });
  if (Object.keys(priorities).length === 0) throw new InvalidOptionsError('options.priorities must name at least one level');
  const defaultPriorityName =
    options.defaultPriority ?? (Object.hasOwn(priorities, RUNTIME_DEFAULTS.defaultPriority) ? RUNTIME_DEFAULTS.defaultPriority : Object.values(priorities)[0] ?? 0);
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
      maxBatch: options.workers?.maxBatch ?? RUNTIME_DEFAULTS.maxBatch,
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
            protect: resolvePriority(options.resourceGuard.protect ?? RESOURCE_GUARD_DEFAULTS.protect, priorities, 'options.resourceGuard.protect'),
            intervalMs: options.resourceGuard.intervalMs ?? RESOURCE_GUARD_DEFAULTS.intervalMs,
            hysteresisPercent: options.resourceGuard.hysteresisPercent ?? RESOURCE_GUARD_DEFAULTS.hysteresisPercent,
            mode: options.resourceGuard.mode ?? RESOURCE_GUARD_DEFAULTS.mode,
            floorShare: options.resourceGuard.floorShare ?? RESOURCE_GUARD_DEFAULTS.floorShare,
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
      onCorruption: options.recovery?.onCorruption ?? RUNTIME_DEFAULTS.onCorruption,
    }),
    tasks: options.tasks ?? {},
    schedules: Object.freeze({ ...options.schedules }),
    executors: options.executors ?? [],
    store: options.store,
    clock: options.clock ?? systemClock,
    idGenerator: options.idGenerator ?? randomUUID,
    random: options.random ?? Math.random,
    logger: options.logger ?? console,
  });
}
