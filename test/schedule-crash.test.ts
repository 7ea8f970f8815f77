// A schedule's firing survives a SIGKILL of its host: a real host process fires a
// schedule and is killed in the middle of the firing (between the task's submission
// and the firing's record, or while the task runs); a runtime opened on the same
// LevelDB data directory afterwards has exactly one task for that firing (the one
// its idempotency key names), and catches up the firings missed while down without
// submitting that one again.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createRuntime, type Runtime } from '@steward/core';
import { ManualClock } from '@steward/core/testing';

const HOST = fileURLToPath(new URL('./fixtures/schedule-host.js', import.meta.url));
const START = Date.UTC(2024, 0, 1);
const MINUTE = 60_000;
const SPEC = { every: MINUTE, type: 'job', catchUp: 'all', overlap: 'allow' } as const;

/** Runs the host until it prints a line starting with `word`, SIGKILLs it, and returns the rest of that line. */
function runAndKill(dataDir: string, mode: 'cut' | 'running', word: string): Promise<string> {
  const child = spawn(process.execPath, [HOST, dataDir, mode, String(START)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    let found: string | undefined;
    const lines: string[] = [];
    child.on('close', (code, signal) => {
      if (found !== undefined && signal === 'SIGKILL') resolve(found);
      else reject(new Error(`the host exited by itself (code ${code}, signal ${signal}): ${lines.join(' | ')} ${stderr}`));
    });
    createInterface({ input: child.stdout }).on('line', (line) => {
      lines.push(line);
      if (found === undefined && line.startsWith(`${word} `)) {
        found = line.slice(word.length + 1);
        child.kill('SIGKILL');
      }
    });
  });
}

/** The task the firing at `fireAt` submitted, by its idempotency key (a second submit returns it), or undefined. */
async function taskOfFiring(rt: Runtime, fireAt: number): Promise<string | undefined> {
  const before = rt.list({ type: 'job' }).length;
  const probe = await rt.submit('job', 'probe', { idempotencyKey: `schedule:tick:${new Date(fireAt).toISOString()}` });
  if (rt.list({ type: 'job' }).length === before) return probe.id;
  await rt.cancel(probe.id);
  return undefined;
}

async function reopen(dataDir: string, at: number): Promise<{ rt: Runtime; clock: ManualClock }> {
  const clock = new ManualClock(at);
  const rt = await createRuntime({ dataDir, clock, tasks: { job: { handler: async () => 'ok' } }, schedules: { tick: SPEC } });
  return { rt, clock };
}

describe('a schedule firing across a SIGKILL of its host', () => {
  it('killed between the submission and the firing record: one task for the firing, the missed ones caught up once each', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'steward-sched-kill-'));
    try {
      const taskId = await runAndKill(dataDir, 'cut', 'CUT');
      // Down for two and a half minutes: the firings at +2 and +3 minutes were missed.
      const { rt } = await reopen(dataDir, START + MINUTE + 150_000);
      try {
        const jobs = rt.list({ type: 'job' });
        assert.equal(jobs.length, 3, jobs.map((j) => j.id).join(', '));
        assert.equal(await taskOfFiring(rt, START + MINUTE), taskId, 'the firing the host was killed in kept its one task');
        const caughtUp = [await taskOfFiring(rt, START + 2 * MINUTE), await taskOfFiring(rt, START + 3 * MINUTE)];
        assert.ok(caughtUp.every((id) => id !== undefined && id !== taskId));
        assert.notEqual(caughtUp[0], caughtUp[1]);
        assert.equal(rt.schedules()[0]?.last, START + 3 * MINUTE);
        assert.equal(rt.list({ type: 'job' }).length, 3, 'the probes found tasks, they added none');
      } finally {
        await rt.shutdown();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('killed while the fired task runs: the firing is not submitted again; the task runs again and the grid goes on', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'steward-sched-kill-'));
    try {
      const taskId = await runAndKill(dataDir, 'running', 'RUNNING');
      const { rt, clock } = await reopen(dataDir, START + MINUTE + 30_000);
      try {
        assert.deepEqual(rt.list({ type: 'job' }).map((j) => j.id), [taskId]);
        assert.equal(rt.schedules()[0]?.lastTaskId, taskId);
        assert.equal((await rt.task(taskId)?.result())?.status, 'completed', 'the interrupted task ran again');
        // The next firing is told by its event (however many turns the firing path takes).
        const fired = new Promise<void>((resolve) => {
          const subscription = rt.events$.subscribe((event) => {
            if (event.type !== 'schedule:fired') return;
            subscription.unsubscribe();
            resolve();
          });
        });
        clock.advance(30_000);
        await fired;
        assert.equal(rt.list({ type: 'job' }).length, 2);
        assert.equal(rt.schedules()[0]?.last, START + 2 * MINUTE);
      } finally {
        await rt.shutdown();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
