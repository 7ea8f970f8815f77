// Cross-package: kill the host process with SIGKILL in the middle of work, open the
// same data directory again, and check that nothing acknowledged was lost and no
// finished durable step ran twice.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createRuntime, type RuntimeEvent } from '@steward/core';

const CHILD = fileURLToPath(new URL('./fixtures/crash-child.js', import.meta.url));
const TASKS = new URL('./fixtures/crash-tasks.js', import.meta.url);

interface ChildReport {
  acks: Array<{ type: string; id: string; n?: number }>;
  steps: string[];
  retrying: string[];
  started: string[];
}

/** Runs the child until it has acknowledged everything, finished step one, started a backoff and the slow task, then kills it. */
async function runAndKill(dataDir: string, marker: string): Promise<ChildReport> {
  const child = spawn(process.execPath, [CHILD, dataDir, marker], { stdio: ['ignore', 'pipe', 'inherit'] });
  const report: ChildReport = { acks: [], steps: [], retrying: [], started: [] };
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  let ready = false;
  await new Promise<void>((resolve, reject) => {
    child.on('exit', () => reject(new Error('the child exited before it was killed')));
    createInterface({ input: child.stdout }).on('line', (line) => {
      const [kind, a, b, c] = line.split(' ');
      if (kind === 'ACK') report.acks.push({ type: a as string, id: b as string, ...(c === undefined ? {} : { n: Number(c) }) });
      if (kind === 'STEP') report.steps.push(`${a} ${b}`);
      if (kind === 'RETRYING') report.retrying.push(a as string);
      if (kind === 'STARTED') report.started.push(a as string);
      if (kind === 'READY') ready = true;
      const stepper = report.acks.find((x) => x.type === 'stepper');
      const slow = report.acks.find((x) => x.type === 'slow');
      if (ready && stepper && slow && report.steps.includes(`${stepper.id} one`) && report.retrying.length > 0 && report.started.includes(slow.id)) {
        resolve();
      }
    });
  });
  child.kill('SIGKILL');
  assert.equal(await exited, 'SIGKILL');
  return report;
}

async function count(path: string, prefix: string): Promise<number> {
  return (await readFile(path, 'utf8')).split('\n').filter((l) => l.startsWith(prefix)).length;
}

describe('a crash of the host process', () => {
  it('loses no acknowledged task and re-runs no finished step after SIGKILL', { timeout: 120_000 }, async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'steward-crash-'));
    const marker = join(dataDir, 'steps.txt');
    try {
      const report = await runAndKill(dataDir, marker);
      const id = (type: string) => report.acks.find((a) => a.type === type)?.id as string;

      const rt = await createRuntime({ dataDir, concurrency: 4, workers: { minThreads: 1, maxThreads: 2 } });
      const interrupted: string[] = [];
      rt.events$.subscribe((e: RuntimeEvent) => {
        if (e.type === 'attempt:interrupted') interrupted.push(e.taskId as string);
      });
      try {
        // Every acknowledged submission is known after the crash.
        for (const ack of report.acks) assert.ok(rt.get(ack.id), `task ${ack.type} ${ack.id} survived`);
        assert.equal(rt.get(id('flaky'))?.status, 'retrying', 'the backoff survives the crash');
        assert.ok((rt.queueStatus().items.find((i) => i.id === id('flaky'))?.retryAt ?? 0) > Date.now() + 30_000, 'with the delay that was left');

        rt.define('stepper', { module: TASKS, export: 'stepper' });
        rt.define('quick', { handler: (n: number) => n * 2 });
        rt.define('flaky', { handler: () => 'never mind' });
        rt.define('slow', { handler: () => 'finished this time' });

        for (const ack of report.acks.filter((a) => a.type === 'quick')) {
          const outcome = await rt.task(ack.id)!.result();
          assert.deepEqual([outcome.status, outcome.result], ['completed', (ack.n as number) * 2]);
        }
        const stepper = await rt.task(id('stepper'))!.result();
        assert.equal(stepper.status, 'completed');
        assert.deepEqual(stepper.result, { one: 'one@1', two: 'two@2', attempt: 2 });
        assert.equal(await count(marker, 'one '), 1, 'step one ran once, before the crash');
        assert.equal(await count(marker, 'two '), 1, 'step two ran once, after it');
        assert.equal((await rt.task(id('slow'))!.result()).result, 'finished this time');
        // The stepper's start is on disk before its step (batches are written in order),
        // so it must come back as an interrupted attempt. The slow task may have been
        // killed before its start record was written: then it is simply still queued.
        assert.ok(interrupted.includes(id('stepper')), 'the stepper attempt is reported interrupted');
        assert.ok(interrupted.every((taskId) => taskId === id('stepper') || taskId === id('slow')));
        await rt.cancel(id('flaky'));
      } finally {
        await rt.shutdown({ timeoutMs: 0 });
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
