import type { QueueItem, Runtime, TaskSnapshot, TaskStatus, WorkflowStatus, SupervisionNode } from '@steward/core';

/** How the outcome chart is cut: 20 buckets of 30 s, the last 10 minutes. */
export const CHART_BUCKET_MS = 30_000;
export const CHART_BUCKETS = 20;
/** Ended tasks read for the chart and the recent outcomes (the newest by creation). */
export const ENDED_SCAN_LIMIT = 5_000;
const RECENT_ROWS = 15;

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
}

/** A task the queue holds, with the tasks it waits for. */
export interface DashboardQueueItem extends QueueItem {
  command?: string[];
  /** Its dependencies that have not completed yet, with their status. */
  waitsFor: Array<{ id: string; type?: string; status?: TaskStatus }>;
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

function row(snapshot: TaskSnapshot, commandType: string | undefined): DashboardTask {
  const command = commandOf(snapshot, commandType);
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
  };
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
    return { ...item, waitsFor, ...(command === undefined ? {} : { command }) };
  });
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
  };
}
