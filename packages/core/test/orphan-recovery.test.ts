// Recovery and the process groups attempts journal: a group recorded for a task
// that has not ended is handed to its executor's reaper before the task may run
// again, and a group that cannot be stopped keeps the task from running at all.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createRuntime, StewardError, type Executor, type OrphanStop, type ProcessGroup, type RuntimeOptions } from '../src/index.js';

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'steward-orphans-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const groupOf = (attempt: number): ProcessGroup => ({ pid: 4000 + attempt, pgid: 4000 + attempt, startTime: 7, bootId: 'boot', killGraceMs: 10 });

/**
 * An executor of kind `process` that spawns nothing: it reports a group for each
 * attempt, runs the first until it is stopped and ends the later ones at once. What
 * happens is written to `log` in order.
 */
function fakeProcesses(log: string[], reaper?: (group: ProcessGroup) => Promise<OrphanStop>): Executor & { started: Promise<void> } {
  let started!: () => void;
  return {
    kind: 'process',
    started: new Promise<void>((resolve) => (started = resolve)),
    ...(reaper === undefined ? {} : { reaper: { stop: (group: ProcessGroup) => (log.push(`stop ${group.pid}`), reaper(group)) } }),
    execute(request, sink) {
      log.push(`execute ${request.attempt}`);
      sink.processStarted(groupOf(request.attempt));
      if (request.attempt > 1) sink.succeeded('ran again');
      started();
    },
    async close() {},
  };
}

/** Runs one attempt of a `process` task in `dir` and stops the runtime while it runs; returns the task id. */
async function interruptedTask(dir: string, options: RuntimeOptions = {}): Promise<string> {
  const executor = fakeProcesses([]);
  const rt = await createRuntime({ dataDir: dir, executors: [executor], ...options });
  rt.define('job', { command: 'job' });
  const handle = await rt.submit('job');
  await executor.started;
  // The clean shutdown interrupts the attempt and snapshots the table: the group
  // must come back from the snapshot as well as from the journal.
  await rt.shutdown({ timeoutMs: 0 });
  return handle.id;
}

describe('recovery of process groups', () => {
  it('hands the group an unended attempt recorded to the reaper before the task runs again', () =>
    withDir(async (dir) => {
      const id = await interruptedTask(dir);
      const log: string[] = [];
      const stopped: ProcessGroup[] = [];
      const executor = fakeProcesses(log, async (group) => {
        stopped.push(group);
        return 'stopped';
      });
      const rt = await createRuntime({ dataDir: dir, executors: [executor] });
      try {
        rt.define('job', { command: 'job' });
        const outcome = await rt.task(id)!.result();
        assert.equal(outcome.status, 'completed');
        assert.deepEqual(log, ['stop 4001', 'execute 2']);
        assert.deepEqual(stopped, [groupOf(1)]);
      } finally {
        await rt.shutdown({ timeoutMs: 0 });
      }
    }));

  it('fails the task with STEWARD_INTERRUPTED, without running it, when its group cannot be stopped', () =>
    withDir(async (dir) => {
      const id = await interruptedTask(dir);
      const log: string[] = [];
      const executor = fakeProcesses(log, async () => {
        throw new StewardError('STEWARD_INTERRUPTED', 'could not send SIGTERM to process group 4001: EPERM');
      });
      const warnings: string[] = [];
      const logger = { warn: (message: string) => void warnings.push(message), error: () => undefined };
      const rt = await createRuntime({ dataDir: dir, executors: [executor], logger });
      try {
        rt.define('job', { command: 'job' });
        const outcome = await rt.task(id)!.result();
        assert.equal(outcome.status, 'failed');
        assert.equal(outcome.error?.code, 'STEWARD_INTERRUPTED');
        assert.match(outcome.error?.message ?? '', /process group 4001.*could not be stopped.*EPERM/);
        assert.deepEqual(log, ['stop 4001'], 'the task never ran beside it');
        assert.ok(warnings.some((w) => w.includes(id)), 'and the log says which task and why');
      } finally {
        await rt.shutdown({ timeoutMs: 0 });
      }
    }));

  it('forgets a task’s groups once it has ended: nothing is stopped for a finished task', () =>
    withDir(async (dir) => {
      const first = fakeProcesses([]);
      const rt1 = await createRuntime({ dataDir: dir, executors: [first] });
      rt1.define('job', { command: 'job' });
      const handle = await rt1.submit('job');
      await first.started;
      await rt1.cancel(handle.id);
      assert.equal((await handle.result()).status, 'cancelled');
      await rt1.shutdown({ timeoutMs: 0 });

      const log: string[] = [];
      const rt2 = await createRuntime({ dataDir: dir, executors: [fakeProcesses(log, async () => 'stopped')] });
      await rt2.shutdown({ timeoutMs: 0 });
      assert.deepEqual(log, []);
    }));
});
