// A process task's group must not outlive a host killed with SIGKILL into the next
// run: recovery stops it before the task may run again, so two copies never run.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createRuntime } from '@steward/core';
import { processExecutor } from '../src/index.js';
import { liveProcessesMatching } from './processes.js';
import { loopTask, ORPHAN_MARKER } from './fixtures/orphan-task.js';

const HOST = fileURLToPath(new URL('./fixtures/orphan-host.js', import.meta.url));

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
});
