import type { QueueItem, Runtime, ScheduleInfo, TaskSnapshot, TaskStatus, WaitingFor, WorkflowStatus, SupervisionNode } from '@steward/core';

/** How the outcome chart is cut: 20 buckets of 30 s, the last 10 minutes. */
export const CHART_BUCKET_MS = 30_000;
export const CHART_BUCKETS = 20;
/** Ended tasks read for the chart and the recent outcomes (the newest by creation). */
export const ENDED_SCAN_LIMIT = 5_000;
const RECENT_ROWS = 15;
/** Tasks suspended on a durable wait, and concurrency keys, the page lists at most. */
export const WAITING_ROWS = 50;
export const KEY_ROWS = 20;

const ENDED: TaskStatus[] = ['completed', 'failed', 'cancelled', 'timed_out'];

/** One task as a dashboard row: the snapshot's fields a person reads, and its command. */
export interface DashboardTask {
  id: string;
  type: string;
  status: TaskStatus;
  priority: number;
  attempts: number;
  createdAt: number;
  startedAt?: number;
  endedAt?: number;
  durationMs?: number;
  progress?: { percent: number; message?: string };
  error?: { code: string; message: string };
  /** The command line of a command task (`[program, ...args]`), when known. */
  command?: string[];
  workflowId?: string;
  /** The process id of a running process task, when the runtime reports it. */
  pid?: number;
  /** Cluster mode: the node that runs it, or ran its latest attempt. */
  node?: string;
  /** Units of rate buckets its attempts used, by bucket. */
  usage?: Record<string, number>;
  /** Its cap per bucket over all attempts, when the snapshot carries it. */
  budget?: Record<string, number>;
  /** Its concurrency key, when the snapshot carries it. */
  concurrencyKey?: string;
}

/** A task suspended on a durable wait (a signal or a sleep). */
export interface DashboardWaitingTask extends DashboardTask {
  waitingFor: WaitingFor;
}

/** One rate bucket: units used by the tasks held, taken in the window ending now, free now. */
export interface DashboardBucket {
  name: string;
  limit: number;
  intervalMs: number;
  used: number;
  inWindow: number;
  available: number;
}

/** A task the queue holds, with the tasks it waits for. */
export interface DashboardQueueItem extends QueueItem {
  command?: string[];
  /** Its dependencies that have not completed yet, with their status. */
  waitsFor: Array<{ id: string; type?: string; status?: TaskStatus }>;
  /** The signal or sleep it is suspended on, when it is. */
  waitingFor?: WaitingFor;
  concurrencyKey?: string;
}

/** Tasks ended per bucket, by outcome; `from` is the start of the first bucket. */
export interface OutcomeChart {
  bucketMs: number;
  from: number;
  buckets: Array<{ completed: number; failed: number; timedOut: number; cancelled: number }>;
}

/** Everything the page shows, in one read: `GET /api/dashboard`. */
export interface DashboardView {
  /** Server time of the read (the page counts elapsed time from it). */
  now: number;
  journalSeq: number;
  counts: { running: number; queued: number; retrying: number; waiting: number };
  queue: { throttled: boolean; effectiveConcurrency: number; maxConcurrent: number; items: DashboardQueueItem[] };
  running: DashboardTask[];
  /** The latest outcomes, newest end first. */
  recent: DashboardTask[];
  /** The header's success rate and throughput are computed from this, so the two always agree. */
  chart: OutcomeChart;
  workflows: WorkflowStatus[];
  supervision: SupervisionNode;
  /** Tasks suspended on a signal or a sleep, the oldest first. */
  waiting: DashboardWaitingTask[];
  schedules: ScheduleInfo[];
  /** Concurrency keys with tasks running or queued, the busiest first; `keyCount` counts them all. */
  keys: Array<{ key: string; running: number; queued: number }>;
  keyCount: number;
  /** The rate buckets (`metrics().rateLimits`), by name; empty when none is configured. */
  buckets: DashboardBucket[];
}

/** The command line recorded on a command task (see `commandMetadata`). */
function commandOf(snapshot: TaskSnapshot, commandType: string | undefined): string[] | undefined {
  if (commandType === undefined || snapshot.type !== commandType) return undefined;
  const line = snapshot.metadata?.command;
  return Array.isArray(line) && line.every((part) => typeof part === 'string') ? line : undefined;
}

/**
 * The metadata a command task sent over HTTP is submitted with: its command line, so
 * the dashboard (and anyone reading the snapshot) can show what runs. The caller's own
 * `command` key, if any, wins.
 */
export function commandMetadata(command: string, args: readonly string[], metadata: Record<string, unknown> | undefined): Record<string, unknown> {
  return { command: [command, ...args], ...metadata };
}

// Read loosely: `snapshot.pid` is planned (API.md) and shown once the runtime fills it.
function pidOf(snapshot: TaskSnapshot): number | undefined {
  const pid = (snapshot as { pid?: unknown }).pid;
  return typeof pid === 'number' ? pid : undefined;
}

// Read loosely too: a snapshot may carry a task's key and budget (API.md leaves it open).
function keyOf(snapshot: TaskSnapshot): string | undefined {
  const key = (snapshot as { concurrencyKey?: unknown }).concurrencyKey;
  return typeof key === 'string' ? key : undefined;
}
function budgetOf(snapshot: TaskSnapshot): Record<string, number> | undefined {
  const budget = (snapshot as { budget?: unknown }).budget;
  return budget !== null && typeof budget === 'object' ? (budget as Record<string, number>) : undefined;
}

function row(snapshot: TaskSnapshot, commandType: string | undefined): DashboardTask {
  const command = commandOf(snapshot, commandType);
  const key = keyOf(snapshot);
  const budget = budgetOf(snapshot);
  return {
    id: snapshot.id,
    type: snapshot.type,
    status: snapshot.status,
    priority: snapshot.priority,
    attempts: snapshot.attempts,
    createdAt: snapshot.createdAt,
    ...(snapshot.startedAt === undefined ? {} : { startedAt: snapshot.startedAt }),
    ...(snapshot.endedAt === undefined ? {} : { endedAt: snapshot.endedAt }),
    ...(snapshot.durationMs === undefined ? {} : { durationMs: snapshot.durationMs }),
    ...(snapshot.progress === undefined ? {} : { progress: snapshot.progress }),
    ...(snapshot.error === undefined ? {} : { error: { code: snapshot.error.code, message: snapshot.error.message } }),
    ...(command === undefined ? {} : { command }),
    ...(snapshot.workflowId === undefined ? {} : { workflowId: snapshot.workflowId }),
    ...(pidOf(snapshot) === undefined ? {} : { pid: pidOf(snapshot) }),
    ...(snapshot.node === undefined ? {} : { node: snapshot.node }),
    ...(snapshot.usage === undefined ? {} : { usage: snapshot.usage }),
    ...(budget === undefined ? {} : { budget }),
    ...(key === undefined ? {} : { concurrencyKey: key }),
  };
}

/** The buckets of `metrics().rateLimits` (its `waits` and `available` totals left out). */
function bucketsOf(rateLimits: Record<string, unknown>): DashboardBucket[] {
  const out: DashboardBucket[] = [];
  for (const [name, value] of Object.entries(rateLimits)) {
    if (name === 'waits' || name === 'available' || value === null || typeof value !== 'object') continue;
    const b = value as Partial<DashboardBucket>;
    if (typeof b.limit !== 'number') continue;
    out.push({ name, limit: b.limit, intervalMs: b.intervalMs ?? 0, used: b.used ?? 0, inWindow: b.inWindow ?? 0, available: b.available ?? 0 });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** Ended tasks per bucket over the chart's window, ending with the bucket that holds `now`. */
export function outcomeChart(ended: readonly TaskSnapshot[], now: number): OutcomeChart {
  const from = (Math.floor(now / CHART_BUCKET_MS) - CHART_BUCKETS + 1) * CHART_BUCKET_MS;
  const buckets = Array.from({ length: CHART_BUCKETS }, () => ({ completed: 0, failed: 0, timedOut: 0, cancelled: 0 }));
  for (const task of ended) {
    if (task.endedAt === undefined) continue;
    const bucket = buckets[Math.floor((task.endedAt - from) / CHART_BUCKET_MS)];
    if (bucket === undefined) continue;
    if (task.status === 'completed') bucket.completed++;
    else if (task.status === 'failed') bucket.failed++;
    else if (task.status === 'timed_out') bucket.timedOut++;
    else if (task.status === 'cancelled') bucket.cancelled++;
  }
  return { bucketMs: CHART_BUCKET_MS, from, buckets };
}

/** Reads the runtime once for the whole page. */
export function dashboardView(rt: Runtime, commandType: string | undefined, now = Date.now()): DashboardView {
  const queue = rt.queueStatus({ limit: 200 });
  const ended = rt.list({ status: ENDED, limit: ENDED_SCAN_LIMIT });
  const recent = ended
    .filter((t) => t.endedAt !== undefined)
    .sort((a, b) => (b.endedAt ?? 0) - (a.endedAt ?? 0))
    .slice(0, RECENT_ROWS);
  const items = queue.items.map((item): DashboardQueueItem => {
    const snapshot = rt.get(item.id);
    const command = snapshot === undefined ? undefined : commandOf(snapshot, commandType);
    const waitsFor = (snapshot?.dependsOn ?? [])
      .map((id) => {
        const dep = rt.get(id);
        return dep === undefined ? { id } : { id, type: dep.type, status: dep.status };
      })
      .filter((dep) => dep.status !== 'completed');
    const key = snapshot === undefined ? undefined : keyOf(snapshot);
    return {
      ...item,
      waitsFor,
      ...(command === undefined ? {} : { command }),
      ...(snapshot?.waitingFor === undefined ? {} : { waitingFor: snapshot.waitingFor }),
      ...(key === undefined ? {} : { concurrencyKey: key }),
    };
  });
  const metrics = rt.metrics();
  const keys = Object.entries(metrics.keys ?? {})
    .map(([key, k]) => ({ key, running: k.running, queued: k.queued }))
    .sort((a, b) => b.running + b.queued - (a.running + a.queued) || a.key.localeCompare(b.key));
  const waiting = rt
    .list({ status: 'waiting', limit: 10_000 })
    .filter((t) => t.waitingFor !== undefined)
    .sort((a, b) => a.createdAt - b.createdAt)
    .slice(0, WAITING_ROWS)
    .map((t): DashboardWaitingTask => ({ ...row(t, commandType), waitingFor: t.waitingFor! }));
  return {
    now,
    journalSeq: rt.journalSeq,
    counts: { running: queue.running, queued: queue.queued, retrying: queue.retrying, waiting: queue.waiting },
    queue: { throttled: queue.throttled, effectiveConcurrency: queue.effectiveConcurrency, maxConcurrent: queue.maxConcurrent, items },
    running: rt.list({ status: 'running', limit: 200 }).map((t) => row(t, commandType)),
    recent: recent.map((t) => row(t, commandType)),
    chart: outcomeChart(ended, now),
    workflows: rt.listWorkflows({ limit: 8 }),
    supervision: rt.supervision(),
    waiting,
    schedules: rt.schedules(),
    keys: keys.slice(0, KEY_ROWS),
    keyCount: keys.length,
    buckets: bucketsOf(metrics.rateLimits as Record<string, unknown>),
  };
}
