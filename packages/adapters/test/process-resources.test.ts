import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createRuntime } from '@steward/core';
import { processExecutor, type ProcessResult } from '../src/index.js';

const USAGE = fileURLToPath(new URL('../../test/fixtures/usage.mjs', import.meta.url));

describe('the resources of a process task', () => {
  it('ends with the CPU time of its group, its children included, and its peak memory', async () => {
    const rt = await createRuntime({ executors: [processExecutor({ sampleIntervalMs: 20 })] });
    try {
      rt.define('burn', { command: process.execPath, args: [USAGE, 'burn', '300'] });
      const outcome = await (await rt.submit('burn')).result();
      assert.equal(outcome.status, 'completed');
      const childCpu = Number((outcome.result as ProcessResult).stdoutTail.split(' ')[1]);
      assert.ok(childCpu >= 300);
      const resources = rt.get(outcome.taskId)?.resources;
      assert.ok(resources !== undefined, 'no resources on the snapshot');
      // The child's time, as the kernel counts it in clock ticks, is in the leader's.
      assert.ok(resources.cpuMs >= childCpu - 20, `group ${resources.cpuMs} ms, the child alone ${childCpu} ms`);
      // The leader held 64 MB on top of what node itself takes.
      assert.ok((resources.maxRssMb ?? 0) >= 64, `peak ${resources.maxRssMb} MB`);
      const byType = rt.metrics().resources.byType.burn;
      assert.equal(byType?.cpuMs, resources.cpuMs);
    } finally {
      await rt.shutdown({ timeoutMs: 0 });
    }
  });
});
