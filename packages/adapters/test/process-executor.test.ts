import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createRuntime, isStewardError, type RuntimeOptions, type Runtime } from '@steward/core';
import { processExecutor, type ProcessResult, type ProcessTaskDefinition } from '../src/index.js';
import { isAlive, liveProcessesMatching, waitGone } from './processes.js';

const BEHAVE = fileURLToPath(new URL('../../test/fixtures/behave.mjs', import.meta.url));
const node = (mode: string, ...args: string[]): ProcessTaskDefinition => ({ command: process.execPath, args: [BEHAVE, mode, ...args] });

async function withProcessRuntime<T>(fn: (rt: Runtime) => Promise<T>, options: RuntimeOptions = {}, killGraceMs = 5_000): Promise<T> {
  const rt = await createRuntime({ concurrency: 4, executors: [processExecutor({ killGraceMs })], ...options });
  try {
    return await fn(rt);
  } finally {
    await rt.shutdown({ timeoutMs: 0 });
  }
}

/** Resolves with the first stdout line that starts with `prefix`, from the task's events. */
function lineOf(rt: Runtime, taskId: string, prefix: string): Promise<string> {
  return new Promise((resolve) => {
    const off = rt.on('task:output', (e) => {
      if (e.taskId === taskId && e.data.startsWith(prefix)) {
        off();
        resolve(e.data);
      }
    });
  });
}

describe('the process executor', () => {
  after(() => {
    // The suite checks itself: nothing it started may outlive it, orphans included.
    const left = [...liveProcessesMatching('behave.mjs'), ...liveProcessesMatching('steward-test-sleeper')];
    assert.deepEqual(left, [], `processes left behind: ${left.join(', ')}`);
  });

  it('runs the command without a shell: arguments reach it literally', () =>
    withProcessRuntime(async (rt) => {
      rt.define('echo', node('echo', '$(whoami)', '; rm -rf /', '`id`', '*'));
      const result = (await rt.run('echo')) as ProcessResult;
      assert.deepEqual(result, { exitCode: 0, signal: null, stdoutTail: '$(whoami)|; rm -rf /|`id`|*\n', stderrTail: '' });
    }));

  it('computes arguments from the input', () =>
    withProcessRuntime(async (rt) => {
      rt.define('double', { command: process.execPath, args: (input: { n: number }) => [BEHAVE, 'double', String(input.n)] });
      assert.equal(((await rt.run('double', { n: 21 })) as ProcessResult).stdoutTail, '42\n');
    }));

  it('fails with STEWARD_PROCESS_EXIT on a non-zero exit, with the stderr tail in the message', () =>
    withProcessRuntime(async (rt) => {
      rt.define('fail', node('fail'));
      const outcome = await (await rt.submit('fail')).result();
      assert.equal(outcome.status, 'failed');
      assert.equal(outcome.error?.code, 'STEWARD_PROCESS_EXIT');
      assert.match(outcome.error?.message ?? '', /exited with code 3.*something bad happened/s);
    }));

  it('streams stdout and stderr as task:output events and into the stored output', () =>
    withProcessRuntime(async (rt) => {
      rt.define('streams', node('streams'));
      const seen: string[] = [];
      rt.on('task:output', (e) => seen.push(`${e.stream}:${e.data}`));
      const handle = await rt.submit('streams');
      const result = (await handle.result()).result as ProcessResult;
      assert.deepEqual(seen.sort(), ['stderr:to stderr', 'stdout:to stdout']);
      assert.equal(result.stderrTail, 'to stderr\n');
      const kept: string[] = [];
      for await (const chunk of rt.output(handle.id)) kept.push(`${chunk.stream}:${chunk.data}`);
      assert.deepEqual(kept.sort(), ['stderr:to stderr', 'stdout:to stdout']);
    }));

  it('turns ##steward:progress lines into progress, not output', () =>
    withProcessRuntime(async (rt) => {
      rt.define('progress', node('progress'));
      const handle = await rt.submit('progress');
      const progress: Array<[number, string | undefined]> = [];
      handle.progress$.subscribe((p) => progress.push([p.percent, p.message]));
      const result = (await handle.result()).result as ProcessResult;
      assert.deepEqual(progress, [[25, 'a quarter'], [100, undefined]]);
      assert.equal(result.stdoutTail, 'working\n');
    }));

  it('tails a running process with output(id, { follow: true })', () =>
    withProcessRuntime(async (rt) => {
      rt.define('ticks', node('slow-lines', '5'));
      const handle = await rt.submit('ticks');
      const lines: string[] = [];
      for await (const chunk of rt.output(handle.id, { follow: true })) lines.push(chunk.data);
      assert.deepEqual(lines, ['tick 0', 'tick 1', 'tick 2', 'tick 3', 'tick 4']);
    }));

  it('keeps only the tail of a chatty process’s output', () =>
    withProcessRuntime(
      async (rt) => {
        rt.define('chatty', node('chatty', '20000'));
        const handle = await rt.submit('chatty');
        const result = (await handle.result()).result as ProcessResult;
        assert.ok(result.stdoutTail.endsWith('line 19999\n'));
        assert.ok(result.stdoutTail.length <= 16_384);
        let bytes = 0;
        let last = '';
        for await (const chunk of rt.output(handle.id)) {
          bytes += chunk.data.length;
          last = chunk.data;
        }
        assert.ok(bytes <= 4_096, `kept ${bytes} bytes`);
        assert.equal(last, 'line 19999');
      },
      { maxOutputBytes: 4_096 },
    ));

  it('on timeout stops the whole process group: no grandchild survives', () =>
    withProcessRuntime(async (rt) => {
      rt.define('family', { ...node('family'), timeoutMs: 1_000 });
      const handle = await rt.submit('family');
      const grandchild = Number((await lineOf(rt, handle.id, 'grandchild ')).split(' ')[1]);
      assert.ok(isAlive(grandchild));
      const outcome = await handle.result();
      assert.equal(outcome.status, 'timed_out');
      assert.ok(await waitGone(grandchild), 'the grandchild was stopped with its group');
    }));

  it('sends SIGKILL after killGraceMs to a process that ignores SIGTERM', () =>
    withProcessRuntime(
      async (rt) => {
        rt.define('stubborn', node('stubborn'));
        const handle = await rt.submit('stubborn');
        await lineOf(rt, handle.id, 'ready');
        const ignored = lineOf(rt, handle.id, 'ignoring SIGTERM');
        await handle.cancel('stop it');
        await ignored; // it did get SIGTERM first
        const outcome = await handle.result();
        assert.equal(outcome.status, 'cancelled');
        // It ignores SIGTERM, so only the SIGKILL after the grace period can end it.
        const left = () => liveProcessesMatching('behave.mjs');
        const started = Date.now();
        while (left().length > 0 && Date.now() - started < 10_000) await new Promise((r) => setTimeout(r, 20));
        assert.deepEqual(left(), []);
      },
      {},
      300,
    ));

  it('stops what a command left running in its group when it exits', () =>
    withProcessRuntime(async (rt) => {
      rt.define('orphan', node('orphan'));
      const handle = await rt.submit('orphan');
      const grandchild = Number((await lineOf(rt, handle.id, 'grandchild ')).split(' ')[1]);
      const outcome = await handle.result();
      assert.equal(outcome.status, 'completed');
      assert.ok(await waitGone(grandchild), 'the grandchild left behind was stopped');
    }));

  it('reports a command killed by a signal it did not expect as a crash', () =>
    withProcessRuntime(async (rt) => {
      rt.define('segv', node('segv'));
      const restarts: string[] = [];
      rt.on('supervisor:restarted', (e) => restarts.push(e.error.code));
      const outcome = await (await rt.submit('segv')).result();
      assert.equal(outcome.status, 'failed');
      assert.equal(outcome.error?.code, 'STEWARD_PROCESS_EXIT');
      assert.match(outcome.error?.message ?? '', /SIGSEGV/);
      assert.deepEqual(restarts, ['STEWARD_PROCESS_EXIT']);
    }));

  it('fails without retrying when the command does not exist', () =>
    withProcessRuntime(async (rt) => {
      rt.define('missing', { command: 'steward-no-such-command', retries: { attempts: 3 } });
      const outcome = await (await rt.submit('missing')).result();
      assert.equal(outcome.error?.code, 'STEWARD_PROCESS_SPAWN');
      assert.equal(outcome.attempts, 1);
    }));

  it('refuses commands outside the allow list at define()', async () => {
    const rt = await createRuntime({ executors: [processExecutor({ allow: [process.execPath, 'true'] })] });
    try {
      assert.throws(() => rt.define('rm', { command: 'rm', args: ['-rf', '/tmp/x'] }), (e: unknown) => isStewardError(e, 'STEWARD_COMMAND_NOT_ALLOWED'));
      assert.throws(() => rt.define('sneaky', { command: '/tmp/true-not-really' }), (e: unknown) => isStewardError(e, 'STEWARD_COMMAND_NOT_ALLOWED'));
      rt.define('true', { command: '/bin/true' });
      assert.equal(((await rt.run('true')) as ProcessResult).exitCode, 0);
    } finally {
      await rt.shutdown();
    }
  });

  it('validates a process definition with the path of the bad field', () =>
    withProcessRuntime(async (rt) => {
      assert.throws(() => rt.define('bad', { command: 'x', args: [1, 2] } as never), (e: unknown) => isStewardError(e, 'STEWARD_INVALID_OPTIONS') && /definition "bad"\.args/.test(e.message));
      assert.throws(() => rt.define('bad', { command: 'x', timeoutMs: -1 }), (e: unknown) => isStewardError(e, 'STEWARD_INVALID_OPTIONS') && /timeoutMs/.test(e.message));
    }));

  it('stops every running process group when the runtime shuts down', async () => {
    const rt = await createRuntime({ executors: [processExecutor({ killGraceMs: 200 })] });
    rt.define('family', node('family'));
    const handle = await rt.submit('family');
    const grandchild = Number((await lineOf(rt, handle.id, 'grandchild ')).split(' ')[1]);
    await rt.shutdown({ timeoutMs: 0 });
    assert.ok(await waitGone(grandchild));
  });
});
