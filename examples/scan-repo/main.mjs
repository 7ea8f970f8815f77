// Embeds Steward: five scans of this repository run as background tasks in
// worker threads (two at a time, by priority) while the main thread keeps a
// live view of their progress; then it prints the batch report and results.
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { createRuntime, DEFAULT_PRIORITIES } from '@steward/core';
import { createRenderer } from './render.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));
const tasksModule = new URL('./tasks.mjs', import.meta.url);
const levels = Object.fromEntries(Object.entries(DEFAULT_PRIORITIES).map(([name, n]) => [n, name]));
const FRAME_MS = 80;

// Submitted in this (scrambled) order; with two slots they start by priority.
const TASKS = [
  { type: 'word-frequency', export: 'wordFrequency', priority: 'background' },
  { type: 'scan-markers', export: 'scanMarkers', priority: 'low' },
  { type: 'hash-files', export: 'hashFiles', priority: 'critical' },
  { type: 'largest-files', export: 'largestFiles', priority: 'medium' },
  { type: 'count-lines', export: 'countLines', priority: 'high' },
];

/** Formats a byte count as B / KB / MB. */
const size = (n) => (n < 1024 ? `${n} B` : n < 1048576 ? `${(n / 1024).toFixed(1)} KB` : `${(n / 1048576).toFixed(1)} MB`);

/** Formats a duration in whole milliseconds. */
const ms = (n) => `${Math.round(n)} ms`;

/** One line summing up a task's result, by task type. */
function summarize(type, r) {
  switch (type) {
    case 'hash-files': return `${r.files} files, ${size(r.bytes)}, tree sha256 ${r.treeDigest.slice(0, 16)}…`;
    case 'count-lines': return `${r.totalLines} lines: ${r.byExt.slice(0, 4).map((e) => `${e.ext} ${e.lines} (${e.files})`).join(', ')}`;
    case 'largest-files': return `all ${size(r.total.bytes)} → ${size(r.total.brotli)} brotli; ${r.largest.slice(0, 3).map((f) => `${f.file} ${size(f.bytes)} (${size(f.brotli)})`).join(', ')}, …`;
    case 'scan-markers': return r.count === 0 ? 'no to-do/fix-me markers' : r.hits.map((h) => `${h.file}:${h.line} ${h.marker}`).join(', ');
    case 'word-frequency': return `${r.files} files, ${r.distinct} distinct words; ${r.top.slice(0, 8).map(([w, n]) => `${w} ${n}`).join(', ')}, …`;
    default: return JSON.stringify(r);
  }
}

/** Runs the batch with a live view, prints the report and shuts the runtime down. */
async function main() {
  const rt = await createRuntime({ concurrency: 2, workers: { minThreads: 1, maxThreads: 2 } });
  for (const t of TASKS) rt.define(t.type, { module: tasksModule, export: t.export });

  const startOrder = [];
  const logLines = new Map();
  const events = rt.events$.subscribe((e) => {
    if (e.type === 'task:started') startOrder.push(e.taskId);
    if (e.type === 'task:output') logLines.set(e.taskId, (logLines.get(e.taskId) ?? 0) + 1);
  });
  const view = createRenderer(process.stdout, levels);
  process.once('SIGINT', () => { view.done(); process.exit(130); });

  const t0 = performance.now();
  // Not awaited yet: the main thread keeps drawing (and measuring its own
  // event-loop lag, which stays low because the scans run in worker threads).
  const batch = rt.executeMultiple(TASKS.map((t) => ({ type: t.type, input: { root }, options: { priority: t.priority } })));
  let last = t0;
  let worstLagMs = 0;
  const tick = () => {
    const now = performance.now();
    worstLagMs = Math.max(worstLagMs, now - last - FRAME_MS);
    last = now;
    const note = `main thread free (worst event-loop lag ${Math.max(0, worstLagMs).toFixed(0)} ms)`;
    view.draw(rt.list().reverse(), now - t0, note);
  };
  setImmediate(tick); // after the runtime's first admission pass
  const timer = setInterval(tick, FRAME_MS);
  const { results, report } = await batch;
  clearInterval(timer);
  view.draw(rt.list().reverse(), performance.now() - t0, 'all tasks ended', true);
  view.done();

  const byId = new Map(rt.list().map((t) => [t.id, t]));
  const name = (id) => `${byId.get(id).type} (${levels[byId.get(id).priority]})`;
  const m = rt.metrics();
  console.log('\nBatch report (rt.executeMultiple)');
  console.log(`  tasks        ${report.total} total, ${report.successful} ok, ${report.failed} failed (${report.successRate.toFixed(0)}% success)`);
  console.log(`  durations    wall ${ms(report.totalDurationMs)}, avg ${ms(report.averageDurationMs)}, p50 ${ms(report.p50DurationMs)}, p95 ${ms(report.p95DurationMs)}`);
  console.log(`  consistency  ${report.consistency.distinctResults} distinct results (expected: five different scans)`);
  console.log(`  submitted    ${results.map((o) => name(o.taskId)).join(' → ')}`);
  console.log(`  started      ${startOrder.map(name).join(' → ')}`);
  console.log('Runtime metrics (rt.metrics())');
  console.log(`  completed ${m.tasks.completed}/${m.tasks.submitted}, ${m.throughputPerSec.toFixed(1)} tasks/s, p50 ${ms(m.durations.p50Ms)}, p95 ${ms(m.durations.p95Ms)}`);
  console.log(`  worker threads ${m.workers.threads}, rss ${m.resources.rssMb} MB, heap ${m.resources.heapUsedMb} MB`);
  console.log('Results');
  for (const outcome of results) {
    const task = byId.get(outcome.taskId);
    const detail = outcome.status === 'completed' ? summarize(task.type, outcome.result) : `${outcome.status}: ${outcome.error?.message}`;
    console.log(`  ${task.type.padEnd(15)} ${String(task.durationMs ?? 0).padStart(4)} ms, logs ${logLines.get(task.id) ?? 0}  ${detail}`);
  }

  events.unsubscribe();
  await rt.shutdown(); // ends the worker threads, so the process can exit
  process.exitCode = report.failed === 0 ? 0 : 1;
}

await main();
