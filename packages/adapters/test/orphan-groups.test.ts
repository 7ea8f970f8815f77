// A process task's group must not outlive a host killed with SIGKILL into the next
// run: recovery stops it before the task may run again, so two copies never run.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createRuntime } from '@steward/core';
import { processExecutor, ProcessOrphanReaper } from '../src/index.js';
import { describeGroup } from '../src/process/process-group.js';
import { isAlive, liveProcessesMatching, waitGone } from './processes.js';
import { loopTask, ORPHAN_MARKER } from './fixtures/orphan-task.js';

const HOST = fileURLToPath(new URL('./fixtures/orphan-host.js', import.meta.url));

// Small shell programs for the reaper's own tests, marked like the task's processes.
const PROGRAMS = {
  hang: 'echo ready; while :; do sleep 1; done',
  // Ignored signals stay ignored across exec, so its sleeps ignore SIGTERM too.
  stubborn: 'trap "" TERM; echo ready; while :; do sleep 1; done',
  // Exits at once, leaving its background sleep alone in the group.
  orphan: 'sleep 600 & echo "grandchild $!"',
} as const;

/** Starts a program in its own group, as the executor does, and waits for its first line. */
async function spawnGroup(program: keyof typeof PROGRAMS): Promise<{ child: ChildProcess; firstLine: string; exited: Promise<NodeJS.Signals | null> }> {
  const child = spawn('/bin/sh', ['-c', PROGRAMS[program], ORPHAN_MARKER], { detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  const firstLine = await new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once('line', resolve));
  return { child, firstLine, exited };
}

/** Live (not zombie) processes whose process group is `pgid`, from /proc. */
function groupMembers(pgid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid && fields[0] !== 'Z' && fields[0] !== 'X') out.push(pid);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Starts the host, waits until its process task runs and is journaled, SIGKILLs the host; returns the task's pid. */
async function runHostAndKill(dataDir: string, log: string): Promise<number> {
  const host = spawn(process.execPath, [HOST, dataDir, log], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => host.on('exit', (_code, signal) => resolve(signal)));
  const pid = await new Promise<number>((resolve, reject) => {
    host.on('exit', () => reject(new Error('the host exited before it was killed')));
    createInterface({ input: host.stdout }).on('line', (line) => {
      const [word, value] = line.split(' ');
      if (word === 'RUNNING') resolve(Number(value));
    });
  });
  host.kill('SIGKILL');
  assert.equal(await exited, 'SIGKILL');
  return pid;
}

describe('process groups after a crash of their host', () => {
  after(() => {
    const left = liveProcessesMatching(ORPHAN_MARKER);
    assert.deepEqual(left, [], `processes left behind: ${left.join(', ')}`);
  });

  it('stops the group a SIGKILLed host left running before the task runs again: never two copies', { timeout: 120_000 }, async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'steward-orphans-'));
    const log = join(dataDir, 'loop.log');
    let orphan: number | undefined;
    try {
      orphan = await runHostAndKill(dataDir, log);
      // The task's process leads its own group, so the host's death leaves it running.
      assert.ok(groupMembers(orphan).length > 0, 'the group outlived its host');

      const rt = await createRuntime({ dataDir, executors: [processExecutor()] });
      try {
        assert.deepEqual(groupMembers(orphan), [], 'the old group is gone once the runtime has reopened');
        const loop = rt.list().find((t) => t.type === 'loop');
        assert.ok(loop, 'the process task survived the crash');
        const again = new Promise<number>((resolve) => {
          const off = rt.on('task:output', (e) => {
            const [word, pid] = e.data.split(' ');
            if (e.taskId !== loop.id || word !== 'ready') return;
            off();
            resolve(Number(pid));
          });
        });
        // Defined only now, so the second attempt cannot start before we listen.
        rt.define('loop', loopTask(log));
        const second = await again;
        assert.notEqual(second, orphan);

        const lines = (await readFile(log, 'utf8')).split('\n');
        assert.deepEqual(lines.filter((l) => l.startsWith('start ')), [`start ${orphan}`, `start ${second}`], 'the task ran once per attempt');
        assert.deepEqual(lines.filter((l) => l.startsWith('overlap ')), [], 'the first copy was dead when the second started');
        const secondStart = lines.indexOf(`start ${second}`);
        assert.ok(!lines.slice(secondStart).includes(`tick ${orphan}`), 'the first copy did nothing after the second started');
        await rt.cancel(loop.id);
      } finally {
        await rt.shutdown({ timeoutMs: 0 });
      }
    } finally {
      // Whatever happened above, the orphan does not outlive the test.
      if (orphan !== undefined) {
        try {
          process.kill(-orphan, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  describe('the process orphan reaper', () => {
    const reaper = new ProcessOrphanReaper();

    it('stops a recorded group that still runs, and says so', async () => {
      const { child, exited } = await spawnGroup('hang');
      const group = describeGroup(child.pid!, 5_000)!;
      assert.equal(group.pgid, child.pid, 'a detached child leads its own group');
      assert.equal(await reaper.stop(group), 'stopped');
      assert.equal(await exited, 'SIGTERM');
      assert.deepEqual(groupMembers(group.pgid), [], 'nothing of the group is left');
      assert.equal(await reaper.stop(group), 'gone', 'and a second look finds nothing');
    });

    it('leaves alone a process that only shares the recorded pid (another start time: the pid was reused)', async () => {
      const { child, exited } = await spawnGroup('hang');
      try {
        const group = describeGroup(child.pid!, 0)!;
        assert.equal(await reaper.stop({ ...group, startTime: group.startTime - 1 }), 'gone');
        assert.ok(isAlive(child.pid!), 'the process with that pid now was not signalled');
      } finally {
        process.kill(-child.pid!, 'SIGKILL');
        await exited;
      }
    });

    it('leaves alone a group recorded during another boot of the machine', async () => {
      const { child, exited } = await spawnGroup('hang');
      try {
        const group = describeGroup(child.pid!, 0)!;
        assert.equal(await reaper.stop({ ...group, bootId: 'another-boot' }), 'gone');
        assert.ok(isAlive(child.pid!));
      } finally {
        process.kill(-child.pid!, 'SIGKILL');
        await exited;
      }
    });

    it('stops what a group’s leader left behind when the leader itself is gone', async () => {
      const { child, firstLine, exited } = await spawnGroup('orphan');
      const group = describeGroup(child.pid!, 5_000)!;
      const grandchild = Number(firstLine.split(' ')[1]);
      await exited; // the leader has ended; its grandchild stays in the group
      assert.ok(isAlive(grandchild));
      assert.equal(await reaper.stop(group), 'stopped');
      assert.ok(await waitGone(grandchild), 'the grandchild is gone');
    });

    it('sends SIGKILL after killGraceMs to a group that ignores SIGTERM', async () => {
      const { child, exited } = await spawnGroup('stubborn'); // its first line comes after the trap
      const group = describeGroup(child.pid!, 200)!;
      assert.equal(await reaper.stop(group), 'stopped');
      assert.equal(await exited, 'SIGKILL');
      assert.deepEqual(groupMembers(group.pgid), [], 'its sleeps, which ignored SIGTERM too, are gone as well');
    });
  });
});
