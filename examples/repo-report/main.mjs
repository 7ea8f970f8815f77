// A three-phase workflow over this repository: survey each package (rate-limited
// reads), write one report section per package into one shared file (under a
// lock), then check the report. Progress is printed per phase as it goes.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRuntime } from '@steward/core';

const root = fileURLToPath(new URL('../../', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'steward-report-'));
const report = join(work, 'report.md');
writeFileSync(report, '# Steward packages\n\n');
const packages = ['store', 'actors', 'core', 'adapters'];
const tasks = new URL('./tasks.mjs', import.meta.url);

const rt = await createRuntime({
  concurrency: 4,
  workers: { minThreads: 2, maxThreads: 4 },
  // Never more than 16 file reads in any 250 ms window.
  rateLimits: { reads: { limit: 16, intervalMs: 250 } },
});
rt.define('survey', { module: tasks, export: 'survey' });
rt.define('write-section', { module: tasks, export: 'writeSection', locks: ['file:report'] });
rt.define('check', { module: tasks, export: 'check', locks: [{ name: 'file:report', mode: 'shared' }] });

const started = Date.now();
const stamp = () => `${((Date.now() - started) / 1000).toFixed(2)}s`;
rt.events$.subscribe((e) => {
  if (e.type === 'workflow:phase-started') console.log(`[${stamp()}] phase ${e.phaseId} started`);
  if (e.type === 'workflow:phase-completed') console.log(`[${stamp()}] phase ${e.phaseId} completed`);
  if (e.type === 'lock:waiting') console.log(`[${stamp()}]   ${e.taskId.slice(0, 8)} waits for ${e.lock}`);
});

const wf = await rt.workflow({
  name: 'repository report',
  phases: [
    { id: 'survey', tasks: packages.map((pkg) => ({ id: `survey-${pkg}`, type: 'survey', input: { root, pkg } })) },
    { id: 'write', dependsOn: ['survey'], tasks: packages.map((pkg) => ({ id: `write-${pkg}`, type: 'write-section', input: { report, pkg } })) },
    { id: 'check', dependsOn: ['write'], tasks: [{ id: 'check', type: 'check', input: { report, packages } }] },
  ],
});

// The main program keeps working; every 200 ms it prints where each phase is.
const timer = setInterval(() => {
  const status = wf.getStatus();
  const phases = status.phases.map((p) => `${p.id} ${p.status} ${p.completed}/${p.total}`).join(' | ');
  console.log(`[${stamp()}] ${status.progress.toFixed(0).padStart(3)}%  ${phases}`);
}, 200);
const outcome = await wf.result();
clearInterval(timer);

const final = wf.getStatus();
console.log(`[${stamp()}] workflow ${outcome.status}: ${final.phases.map((p) => `${p.id} ${p.completed}/${p.total}`).join(', ')}`);
console.log(`rate limit: ${rt.metrics().rateLimits.waits} waits for a read token; locks: ${rt.metrics().locks.waits} waits`);
console.log(`check: ${JSON.stringify(outcome.results.check)}\n`);
console.log(readFileSync(report, 'utf8'));
await rt.shutdown();
rmSync(work, { recursive: true, force: true });
if (outcome.status !== 'completed') process.exitCode = 1;
