import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createRuntime, type Runtime } from '@steward/core';
import { processExecutor } from '../src/index.js';

const USAGE = fileURLToPath(new URL('../../test/fixtures/usage.mjs', import.meta.url));

/** Resolves with the first stdout line of the task that starts with `prefix`. */
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

describe('the figures of a process task', () => {
  it('shows the pid of a running command, and none once it has ended', async () => {
    const rt = await createRuntime({ executors: [processExecutor({ killGraceMs: 0 })] });
    try {
      rt.define('pid', { command: process.execPath, args: [USAGE, 'pid'] });
      const handle = await rt.submit('pid');
      const line = await lineOf(rt, handle.id, 'pid ');
      const snapshot = handle.getStatus();
      assert.equal(snapshot.status, 'running');
      assert.equal(snapshot.pid, Number(line.slice(4)));
      assert.equal(rt.get(handle.id)?.pid, snapshot.pid);
      await handle.cancel('seen enough');
      await handle.result();
      assert.equal(handle.getStatus().pid, undefined);
    } finally {
      await rt.shutdown({ timeoutMs: 0 });
    }
  });

  it('refuses a sampling interval for resources that is not a positive integer', () => {
    for (const sampleIntervalMs of [0, -5, 1.5]) {
      assert.throws(() => processExecutor({ sampleIntervalMs }), { code: 'STEWARD_INVALID_OPTIONS', message: /options\.sampleIntervalMs/ });
    }
  });
});
