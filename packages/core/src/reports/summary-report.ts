import type { WorkflowRecord } from '../journal/reducer.js';
import { average, percentile, sumResources, type TypeResources } from './metrics.js';
import type { TaskRecord } from '../model/task-record.js';
import { isTerminal } from '../model/types.js';

/** One task type's line of a report. */
export interface TypeSummary {
  type: string;
  ended: number;
  completed: number;
  failed: number;
  cancelled: number;
  timedOut: number;
  /** Percent of ended tasks (cancelled ones left out) that completed. */
  successRate: number;
  /** Mean run time of the ended tasks (cancelled ones left out). */
  avgMs: number;
  p50Ms: number;
  p95Ms: number;
  /** What its tasks used, for types whose executor measures it: CPU summed, the highest peak memory. */
  resources?: TypeResources;
  /** Units of rate buckets its tasks used (`snapshot.usage` summed), by bucket; absent when none. */
  usage?: Record<string, number>;
  /** Attempts beyond the first. */
  retries: number;
  crashes: number;
}

/** A digest of what the runtime did in a window of time. */
export interface SummaryReport {
  since: number;
  until: number;
  totals: { ended: number; completed: number; failed: number; cancelled: number; timedOut: number; successRate: number; retries: number; crashes: number; stillRunning: number; queued: number };
  byType: TypeSummary[];
  /** The most frequent failure codes, each with a few examples. */
  topFailures: Array<{ code: string; count: number; examples: Array<{ taskId: string; type: string; message: string }> }>;
  locks: { tasksThatWaited: number; totalWaitMs: number; maxWaitMs: number };
  rateLimits: { tasksThatWaited: number; waits: number };
  throttling: { periods: Array<{ from: number; to?: number; durationMs: number }>; totalMs: number };
  restarts: { total: number; byType: Record<string, number> };
  workflows: { ended: number; completed: number; failed: number; cancelled: number; running: number };
  /** The report for people: a page of Markdown. */
  toMarkdown(): string;
}

const round = (n: number) => Math.round(n * 10) / 10;
const rate = (completed: number, ended: number) => (ended === 0 ? 0 : round((completed / ended) * 100));

function duration(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1_000)} s`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

function window(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000} day${ms === 86_400_000 ? '' : 's'}`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} hour${ms === 3_600_000 ? '' : 's'}`;
  return duration(ms);
}

/** Units used by `tasks`, by bucket; undefined when none used any. */
function sumUsage(tasks: readonly Readonly<TaskRecord>[]): Record<string, number> | undefined {
  let sum: Record<string, number> | undefined;
  for (const task of tasks) {
    if (task.usage == null) continue;
    sum ??= {};
    for (const [bucket, units] of Object.entries(task.usage)) sum[bucket] = (sum[bucket] ?? 0) + units;
  }
  return sum;
}

const usageText = (usage: Record<string, number> | undefined) =>
  usage === undefined ? '' : Object.entries(usage).map(([bucket, units]) => `${bucket} ${units.toLocaleString('en-US')}`).join(', ');

const stamp = (at: number) => new Date(at).toISOString().slice(0, 16).replace('T', ' ');

/** Builds the report from the task table: tasks that ended in [since, until]. */
export function buildReport(
  table: { readonly tasks: ReadonlyMap<string, Readonly<TaskRecord>>; readonly workflows: ReadonlyMap<string, Readonly<WorkflowRecord>> },
  since: number,
  until: number,
  throttlePeriods: ReadonlyArray<{ from: number; to?: number }>,
): SummaryReport {
  const ended: TaskRecord[] = [];
  let stillRunning = 0;
  let queued = 0;
  for (const task of table.tasks.values()) {
    if (task.status === 'running') stillRunning++;
    else if (task.status === 'queued' || task.status === 'waiting' || task.status === 'retrying') queued++;
    if (isTerminal(task.status) && task.endedAt !== undefined && task.endedAt >= since && task.endedAt <= until) ended.push(task);
  }
  const byTypeMap = new Map<string, TaskRecord[]>();
  for (const task of ended) {
    const list = byTypeMap.get(task.type);
    if (list === undefined) byTypeMap.set(task.type, [task]);
    else list.push(task);
  }
  const count = (tasks: TaskRecord[], status: string) => tasks.filter((t) => t.status === status).length;
  const byType: TypeSummary[] = [...byTypeMap.entries()]
    .map(([type, tasks]) => {
      const durations = tasks
        .filter((t) => t.startedAt !== undefined && t.status !== 'cancelled')
        .map((t) => (t.endedAt as number) - (t.startedAt as number))
        .sort((a, b) => a - b);
      const completed = count(tasks, 'completed');
      const cancelled = count(tasks, 'cancelled');
      const resources = sumResources(tasks);
      const usage = sumUsage(tasks);
      return {
        type,
        ended: tasks.length,
        completed,
        failed: count(tasks, 'failed'),
        cancelled,
        timedOut: count(tasks, 'timed_out'),
        successRate: rate(completed, tasks.length - cancelled),
        avgMs: average(durations),
        p50Ms: percentile(durations, 50),
        p95Ms: percentile(durations, 95),
        ...(resources === undefined ? {} : { resources }),
        ...(usage === undefined ? {} : { usage }),
        retries: tasks.reduce((sum, t) => sum + Math.max(0, t.attempts - 1), 0),
        crashes: tasks.reduce((sum, t) => sum + t.crashes, 0),
      };
    })
    .sort((a, b) => b.ended - a.ended || a.type.localeCompare(b.type));

  const failures = new Map<string, Array<{ taskId: string; type: string; message: string }>>();
  for (const task of ended) {
    if (task.status === 'completed' || task.error === undefined) continue;
    const list = failures.get(task.error.code) ?? [];
    list.push({ taskId: task.id, type: task.type, message: task.error.message.split('\n')[0]?.slice(0, 200) ?? '' });
    failures.set(task.error.code, list);
  }
  const topFailures = [...failures.entries()]
    .map(([code, list]) => ({ code, count: list.length, examples: list.slice(-3) }))
    .sort((a, b) => b.count - a.count)
    .slice(0, 5);

  const waited = ended.filter((t) => t.lockWaits > 0);
  const periods = throttlePeriods
    .filter((p) => (p.to ?? until) >= since && p.from <= until)
    .map((p) => ({ from: p.from, ...(p.to === undefined ? {} : { to: p.to }), durationMs: Math.min(p.to ?? until, until) - Math.max(p.from, since) }));
  const restartsByType: Record<string, number> = {};
  for (const t of byType) if (t.crashes > 0) restartsByType[t.type] = t.crashes;

  const workflows = { ended: 0, completed: 0, failed: 0, cancelled: 0, running: 0 };
  for (const workflow of table.workflows.values()) {
    if (workflow.startedAt === undefined) continue;
    const tasks = [...workflow.taskIds.values()].map((id) => table.tasks.get(id)).filter((t): t is TaskRecord => t !== undefined);
    const done = tasks.length === workflow.tasks.length && tasks.every((t) => isTerminal(t.status));
    if (!done) {
      workflows.running++;
      continue;
    }
    const endedAt = Math.max(...tasks.map((t) => t.endedAt ?? 0));
    if (endedAt < since || endedAt > until) continue;
    workflows.ended++;
    if (workflow.cancelledAt !== undefined) workflows.cancelled++;
    else if (tasks.every((t) => t.status === 'completed')) workflows.completed++;
    else workflows.failed++;
  }

  const totals = {
    ended: ended.length,
    completed: count(ended, 'completed'),
    failed: count(ended, 'failed'),
    cancelled: count(ended, 'cancelled'),
    timedOut: count(ended, 'timed_out'),
    successRate: rate(count(ended, 'completed'), ended.length - count(ended, 'cancelled')),
    retries: byType.reduce((s, t) => s + t.retries, 0),
    crashes: byType.reduce((s, t) => s + t.crashes, 0),
    stillRunning,
    queued,
  };
  const report: Omit<SummaryReport, 'toMarkdown'> = {
    since,
    until,
    totals,
    byType,
    topFailures,
    locks: { tasksThatWaited: waited.length, totalWaitMs: waited.reduce((s, t) => s + t.lockWaitMs, 0), maxWaitMs: waited.reduce((m, t) => Math.max(m, t.lockWaitMs), 0) },
    rateLimits: { tasksThatWaited: ended.filter((t) => t.rateLimitWaits > 0).length, waits: ended.reduce((s, t) => s + t.rateLimitWaits, 0) },
    throttling: { periods, totalMs: periods.reduce((s, p) => s + p.durationMs, 0) },
    restarts: { total: totals.crashes, byType: restartsByType },
    workflows,
  };
  // Not enumerable: JSON.stringify(report) is the machine form.
  return Object.defineProperty(report, 'toMarkdown', { value: () => toMarkdown(report), enumerable: false }) as SummaryReport;
}

function toMarkdown(r: Omit<SummaryReport, 'toMarkdown'>): string {
  const t = r.totals;
  const lines = [`# Steward report: the last ${window(r.until - r.since)}`, '', `${stamp(r.since)} to ${stamp(r.until)} UTC`, ''];
  if (t.ended === 0) {
    lines.push(`No task ended in this window. ${t.stillRunning} running, ${t.queued} waiting.`);
    return `${lines.join('\n')}\n`;
  }
  const parts = [`${t.completed} completed`, t.failed > 0 ? `${t.failed} failed` : '', t.timedOut > 0 ? `${t.timedOut} timed out` : '', t.cancelled > 0 ? `${t.cancelled} cancelled` : ''].filter(Boolean);
  lines.push(`**${t.ended} tasks ended: ${parts.join(', ')}. Success rate ${t.successRate}%.** ${t.retries} retries, ${t.crashes} crashes; ${t.stillRunning} still running, ${t.queued} waiting.`, '');
  // CPU and memory columns only when some type's executor measured them.
  const measured = r.byType.some((s) => s.resources !== undefined);
  // A usage column only when some type's tasks used rate-bucket units.
  const metered = r.byType.some((s) => s.usage !== undefined);
  lines.push(
    `| type | ended | success | p50 | p95 | avg | retries | timeouts | crashes |${measured ? ' cpu | peak memory |' : ''}${metered ? ' usage |' : ''}`,
    `|---|--:|--:|--:|--:|--:|--:|--:|--:|${measured ? '--:|--:|' : ''}${metered ? '--:|' : ''}`,
  );
  for (const s of r.byType) {
    const cpu = s.resources === undefined ? '' : duration(s.resources.cpuMs);
    const memory = s.resources?.maxRssMb === undefined ? '' : `${round(s.resources.maxRssMb)} MB`;
    const row = `| ${s.type} | ${s.ended} | ${s.successRate}% | ${duration(s.p50Ms)} | ${duration(s.p95Ms)} | ${duration(s.avgMs)} | ${s.retries} | ${s.timedOut} | ${s.crashes} |`;
    const withResources = measured ? `${row} ${cpu} | ${memory} |` : row;
    lines.push(metered ? `${withResources} ${usageText(s.usage)} |` : withResources);
  }
  lines.push('');
  if (r.topFailures.length > 0) {
    lines.push('## What failed', '');
    for (const f of r.topFailures) {
      const example = f.examples.at(-1);
      lines.push(`- \`${f.code}\` ×${f.count}${example === undefined ? '' : `, e.g. ${example.type} ${example.taskId.slice(0, 8)}: ${example.message}`}`);
    }
    lines.push('');
  }
  lines.push('## Contention', '');
  lines.push(`- Locks: ${r.locks.tasksThatWaited === 0 ? 'no task waited' : `${r.locks.tasksThatWaited} tasks waited, ${duration(r.locks.totalWaitMs)} in all (longest ${duration(r.locks.maxWaitMs)})`}`);
  lines.push(`- Rate limits: ${r.rateLimits.tasksThatWaited === 0 ? 'no task waited for a token' : `${r.rateLimits.tasksThatWaited} tasks waited for a token (${r.rateLimits.waits} waits)`}`);
  lines.push(`- Resource guard: ${r.throttling.periods.length === 0 ? 'never throttled' : `throttled ${r.throttling.periods.length} times, ${duration(r.throttling.totalMs)} in all`}`);
  const restartTypes = Object.entries(r.restarts.byType).map(([type, n]) => `${type} ${n}`).join(', ');
  lines.push(`- Supervisor restarts: ${r.restarts.total}${restartTypes === '' ? '' : ` (${restartTypes})`}`);
  const w = r.workflows;
  if (w.ended + w.running > 0) lines.push('', `## Workflows`, '', `${w.ended} ended (${w.completed} completed, ${w.failed} failed, ${w.cancelled} cancelled), ${w.running} running.`);
  return `${lines.join('\n')}\n`;
}
