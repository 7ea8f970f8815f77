import { cpus, freemem, loadavg, totalmem } from 'node:os';
import { sumResources, type TypeResources } from '../reports/metrics.js';
import type { TaskRecord } from '../model/task-record.js';
import type { EngineView } from '../engine/engine-view.js';

/** One waiting task as `queueStatus()` shows it. */
export interface QueueItem {
  id: string;
  type: string;
  status: 'queued' | 'retrying' | 'waiting';
  priority: number;
  /** 1 for the next to start, among the queued ones. */
  position?: number;
  waitingMs: number;
  /**
   * Why it is not running yet: 'next in line', 'concurrency', 'type concurrency', 'type not defined',
   * 'key concurrency', 'quarantined', 'lock <name>', 'rate limit <bucket>', 'resources', 'backoff', 'dependencies'.
   */
  reason: string;
  retryAt?: number;
}

/** What `queueStatus()` returns. */
export interface QueueStatus {
  queued: number;
  retrying: number;
  /** Waiting for their dependencies. */
  waiting: number;
  running: number;
  maxConcurrent: number;
  /** True while the resource guard holds admission back. */
  throttled: boolean;
  /** Concurrency in force now (the resource guard lowers it while throttled). */
  effectiveConcurrency: number;
  items: QueueItem[];
}

/** One rate bucket in `metrics().rateLimits[bucket]`. */
export interface BucketMetrics {
  limit: number;
  intervalMs: number;
  /** Units the tasks the runtime holds have used (`snapshot.usage` summed; kept across restarts). */
  used: number;
  /** Units taken in the window ending now (starts, ctx.rateLimit costs, usage reports). */
  inWindow: number;
  /** Units free now. */
  available: number;
}

/** `metrics().rateLimits`: the totals, and each bucket under its own name. */
export type RateLimitMetrics = {
  /** Times a start or a ctx.rateLimit() had to wait. */
  waits: number;
  /** Units free now, by bucket. */
  available: Record<string, number>;
} & { [bucket: string]: BucketMetrics | undefined };

/** What `metrics()` returns. */
export interface RuntimeMetrics {
  tasks: {
    submitted: number;
    queued: number;
    retrying: number;
    running: number;
    completed: number;
    failed: number;
    cancelled: number;
    timedOut: number;
    retried: number;
  };
  /** Percent of ended tasks that completed (cancelled ones left out), 0..100. */
  successRate: number;
  /** Tasks ended per second over the last minute. */
  throughputPerSec: number;
  queueLength: number;
  /** Queued tasks by priority. */
  queueByPriority: Record<string, number>;
  /** Run times of recent tasks: mean, p50 and p95. */
  durations: { avgMs: number; p50Ms: number; p95Ms: number; samples: number };
  /** Crashed executions restarted by the executors' supervisor. */
  restarts: number;
  locks: {
    /** Tasks that had to wait for a lock. */
    waits: number;
    /** Total time spent waiting for locks. */
    waitMs: number;
    /** Locks held now. */
    held: number;
    /** Tasks waiting for a lock now. */
    waiting: number;
  };
  /** The buckets: waits, units free now, and each bucket by name (`rateLimits[bucket].used`). */
  rateLimits: RateLimitMetrics;
  workers: { threads: number };
  /** Tasks with a concurrency key, by key: running now, and queued (ready or parked). */
  keys: Record<string, { running: number; queued: number }>;
  resources: {
    /** The resource guard's state, when one is configured. */
    guard?: {
      throttled: boolean;
      /** 'throttle' (a floor for work below `protect`) or 'pause'. */
      mode: 'throttle' | 'pause';
      effectiveConcurrency: number;
      /** Slots work below `protect` may use now (all of them while not throttled). */
      floor: number;
      /** Tasks below `protect` running now. */
      belowProtectRunning: number;
      /** Tasks the guard holds back now. */
      held: number;
      cpuPercent?: number;
      memoryMb?: number;
    };
    rssMb: number;
    heapUsedMb: number;
    /** CPU used by this process since the previous reading, percent of one core. */
    processCpuPercent: number;
    hostMemoryUsedPercent: number;
    hostLoadAverage1m: number;
    cores: number;
    /**
     * What the ended tasks the runtime still holds used, by type (types whose tasks
     * report none are left out): CPU time summed, peak memory the highest of any task.
     */
    byType: Record<string, TypeResources>;
  };
  uptimeMs: number;
}

const lastCpu = new WeakMap<EngineView, { usage: NodeJS.CpuUsage; at: bigint }>();

function processCpuPercent(engine: EngineView): number {
  const now = process.hrtime.bigint();
  const usage = process.cpuUsage();
  const previous = lastCpu.get(engine);
  lastCpu.set(engine, { usage, at: now });
  if (previous === undefined) return 0;
  const elapsedUs = Number(now - previous.at) / 1_000;
  if (elapsedUs <= 0) return 0;
  const usedUs = usage.user - previous.usage.user + (usage.system - previous.usage.system);
  return Math.round((usedUs / elapsedUs) * 1_000) / 10;
}

const mb = (bytes: number) => Math.round((bytes / 1_048_576) * 10) / 10;

/** Sums the resources of tasks per type. */
function resourcesByType(tasks: Iterable<Readonly<TaskRecord>>): Record<string, TypeResources> {
  const byType = new Map<string, Array<Readonly<TaskRecord>>>();
  for (const task of tasks) {
    if (task.resources === undefined) continue;
    const list = byType.get(task.type);
    if (list === undefined) byType.set(task.type, [task]);
    else list.push(task);
  }
  const out: Record<string, TypeResources> = {};
  for (const [type, list] of byType) out[type] = sumResources(list) as TypeResources;
  return out;
}

/** Builds the queue view: waiting tasks best first, each with why it waits. */
export function buildQueueStatus(engine: EngineView, limit: number): QueueStatus {
  const now = engine.options.clock.now();
  const items: QueueItem[] = [];
  let position = 0;
  // Ready and parked tasks together, best first: the order admission looks at them.
  const queued = [...engine.readyTasks(), ...engine.admission.parked.items().map((p) => p.item)].sort(
    (a, b) => b.rank - a.rank || a.order - b.order,
  );
  for (const task of queued) {
    position++;
    if (items.length >= limit) break;
    items.push({
      id: task.id,
      type: task.type,
      status: 'queued',
      priority: task.priority,
      position,
      waitingMs: now - task.enqueuedAt,
      reason: engine.admission.reasonOf(task) ?? engine.blockReason(task.type, task.concurrencyKey) ?? 'next in line',
    });
  }
  for (const task of engine.table.tasks.values()) {
    if (items.length >= limit) break;
    if (task.status === 'waiting') {
      items.push({ id: task.id, type: task.type, status: 'waiting', priority: task.priority, waitingMs: now - task.enqueuedAt, reason: task.waitingFor?.kind ?? 'dependencies' });
      continue;
    }
    if (task.status !== 'retrying') continue;
    items.push({
      id: task.id,
      type: task.type,
      status: 'retrying',
      priority: task.priority,
      waitingMs: now - (task.endedAt ?? task.startedAt ?? task.enqueuedAt),
      reason: 'backoff',
      ...(task.retryAt === undefined ? {} : { retryAt: task.retryAt }),
    });
  }
  return {
    queued: engine.queuedCount,
    retrying: engine.retryingCount,
    waiting: engine.table.waiting,
    running: engine.runningCount,
    maxConcurrent: engine.options.concurrency,
    throttled: engine.guard?.throttled ?? false,
    effectiveConcurrency: engine.guard?.effectiveConcurrency ?? engine.options.concurrency,
    items,
  };
}

/** The buckets as metrics show them, with the units each was used by the tasks held. */
function rateLimitsOf(engine: EngineView, available: Record<string, number>, now: number): RateLimitMetrics {
  const { admission, options } = engine;
  const used: Record<string, number> = {};
  for (const task of engine.table.tasks.values()) {
    if (task.usage == null) continue;
    for (const [bucket, units] of Object.entries(task.usage)) used[bucket] = (used[bucket] ?? 0) + units;
  }
  const out = { waits: admission.rateWaits, available } as RateLimitMetrics;
  for (const [bucket, { limit, intervalMs }] of Object.entries(options.rateLimits)) {
    out[bucket] = { limit, intervalMs, used: used[bucket] ?? 0, inWindow: admission.buckets.inWindow(bucket, now), available: available[bucket] ?? 0 };
  }
  return out;
}

/** Running and queued tasks by concurrency key. */
function keysOf(tasks: Iterable<Readonly<TaskRecord>>): Record<string, { running: number; queued: number }> {
  const out: Record<string, { running: number; queued: number }> = {};
  for (const task of tasks) {
    const key = task.concurrencyKey;
    if (key === undefined || (task.status !== 'running' && task.status !== 'queued')) continue;
    const entry = (out[key] ??= { running: 0, queued: 0 });
    if (task.status === 'running') entry.running++;
    else entry.queued++;
  }
  return out;
}

/** Builds the metrics view. */
export function buildMetrics(engine: EngineView): RuntimeMetrics {
  const m = engine.metrics;
  const now = engine.options.clock.now();
  const ended = m.completed + m.failed + m.timedOut;
  const queueByPriority: Record<string, number> = {};
  for (const task of engine.readyTasks()) queueByPriority[task.priority] = (queueByPriority[task.priority] ?? 0) + 1;
  for (const { item } of engine.admission.parked.items()) queueByPriority[item.priority] = (queueByPriority[item.priority] ?? 0) + 1;
  const admission = engine.admission;
  const available: Record<string, number> = {};
  for (const bucket of admission.buckets.names()) available[bucket] = admission.buckets.available(bucket, now);
  const lockWaiting = admission.parked.items().filter((p) => p.key.startsWith('lock:')).length;
  const guard = engine.guard;
  const memory = process.memoryUsage();
  return {
    tasks: {
      submitted: m.submitted,
      queued: engine.queuedCount,
      retrying: engine.retryingCount,
      running: engine.runningCount,
      completed: m.completed,
      failed: m.failed,
      cancelled: m.cancelled,
      timedOut: m.timedOut,
      retried: m.retried,
    },
    successRate: ended === 0 ? 0 : (m.completed / ended) * 100,
    throughputPerSec: m.throughputPerSec(now, engine.startedAt),
    queueLength: engine.queuedCount + engine.retryingCount,
    queueByPriority,
    durations: m.durations(),
    restarts: engine.restarts,
    locks: { waits: admission.lockWaits, waitMs: admission.lockWaitMs, held: admission.locks.held().length, waiting: lockWaiting },
    rateLimits: rateLimitsOf(engine, available, now),
    workers: { threads: engine.workerThreads },
    keys: keysOf(engine.table.tasks.values()),
    resources: {
      ...(guard === undefined
        ? {}
        : {
            guard: {
              throttled: guard.throttled,
              mode: guard.mode,
              effectiveConcurrency: guard.effectiveConcurrency,
              floor: guard.floor,
              belowProtectRunning: admission.belowProtectRunning,
              held: admission.parked.items().filter((p) => p.key === 'resources').length,
              ...(guard.last === undefined ? {} : { cpuPercent: guard.last.cpuPercent, memoryMb: guard.last.memoryMb }),
            },
          }),
      rssMb: mb(memory.rss),
      heapUsedMb: mb(memory.heapUsed),
      processCpuPercent: processCpuPercent(engine),
      hostMemoryUsedPercent: Math.round((1 - freemem() / totalmem()) * 1_000) / 10,
      hostLoadAverage1m: loadavg()[0] ?? 0,
      cores: cpus().length,
      byType: resourcesByType(engine.table.tasks.values()),
    },
    uptimeMs: now - engine.startedAt,
  };
}
