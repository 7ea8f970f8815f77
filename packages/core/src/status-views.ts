import { cpus, freemem, loadavg, totalmem } from 'node:os';
import type { Engine } from './engine.js';

/** One waiting task as `queueStatus()` shows it. */
export interface QueueItem {
  id: string;
  type: string;
  status: 'queued' | 'retrying' | 'waiting';
  priority: number;
  /** 1 for the next to start, among the queued ones. */
  position?: number;
  waitingMs: number;
  /** Why it is not running yet: 'next in line', 'concurrency', 'type concurrency', 'type not defined', 'backoff'. */
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
  /** True while the resource guard holds admission back (no guard runs yet, so false). */
  throttled: boolean;
  items: QueueItem[];
}

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
  durations: { p50Ms: number; p95Ms: number; samples: number };
  /** Crashed executions restarted by the executors' supervisor. */
  restarts: number;
  workers: { threads: number };
  resources: {
    rssMb: number;
    heapUsedMb: number;
    /** CPU used by this process since the previous reading, percent of one core. */
    processCpuPercent: number;
    hostMemoryUsedPercent: number;
    hostLoadAverage1m: number;
    cores: number;
  };
  uptimeMs: number;
}

const lastCpu = new WeakMap<Engine, { usage: NodeJS.CpuUsage; at: bigint }>();

function processCpuPercent(engine: Engine): number {
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

/** Builds the queue view: waiting tasks best first, each with why it waits. */
export function buildQueueStatus(engine: Engine, limit: number): QueueStatus {
  const now = engine.options.clock.now();
  const items: QueueItem[] = [];
  let position = 0;
  for (const task of engine.ready.ordered()) {
    position++;
    if (items.length >= limit) break;
    items.push({
      id: task.id,
      type: task.type,
      status: 'queued',
      priority: task.priority,
      position,
      waitingMs: now - task.enqueuedAt,
      reason: engine.blockReason(task.type) ?? 'next in line',
    });
  }
  for (const task of engine.table.tasks.values()) {
    if (items.length >= limit) break;
    if (task.status === 'waiting') {
      items.push({ id: task.id, type: task.type, status: 'waiting', priority: task.priority, waitingMs: now - task.enqueuedAt, reason: 'dependencies' });
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
    queued: engine.ready.size,
    retrying: engine.retryingCount,
    waiting: engine.table.waiting,
    running: engine.runningCount,
    maxConcurrent: engine.options.concurrency,
    throttled: false,
    items,
  };
}

/** Builds the metrics view. */
export function buildMetrics(engine: Engine): RuntimeMetrics {
  const m = engine.metrics;
  const now = engine.options.clock.now();
  const ended = m.completed + m.failed + m.timedOut;
  const queueByPriority: Record<string, number> = {};
  for (const task of engine.ready.ordered()) queueByPriority[task.priority] = (queueByPriority[task.priority] ?? 0) + 1;
  const memory = process.memoryUsage();
  return {
    tasks: {
      submitted: m.submitted,
      queued: engine.ready.size,
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
    queueLength: engine.ready.size + engine.retryingCount,
    queueByPriority,
    durations: m.durations(),
    restarts: engine.restarts,
    workers: { threads: engine.workerThreads },
    resources: {
      rssMb: mb(memory.rss),
      heapUsedMb: mb(memory.heapUsed),
      processCpuPercent: processCpuPercent(engine),
      hostMemoryUsedPercent: Math.round((1 - freemem() / totalmem()) * 1_000) / 10,
      hostLoadAverage1m: loadavg()[0] ?? 0,
      cores: cpus().length,
    },
    uptimeMs: now - engine.startedAt,
  };
}
