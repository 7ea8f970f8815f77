import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createRuntime } from '../src/index.js';
import type { Executor } from '../src/executor.js';
import { withRuntime } from '../src/testing.js';

const BURN = new URL('./fixtures/burn.js', import.meta.url);

/** An executor (of kind `process`: it takes `command` definitions) that reports the usage its input names, then succeeds. */
const metered: Executor = {
  kind: 'process',
  execute(request, sink) {
    sink.resourcesUsed?.(request.input as { cpuMs: number; maxRssMb?: number });
    sink.succeeded('ok');
  },
  close: async () => undefined,
};

describe('per-task resources', () => {
  it('measures the CPU time of a worker task on its own thread', () =>
    withRuntime({ workers: { minThreads: 1, maxThreads: 1 } }, async (rt) => {
      rt.define('burn', { module: BURN, export: 'burn' });
      rt.define('idle', { module: BURN, export: 'idle' });
      await rt.run('idle'); // the thread and the module are loaded now
      const before = process.cpuUsage();
      const busy = await (await rt.submit('burn', { ms: 200 })).result();
      const processMs = (() => {
        const used = process.cpuUsage(before);
        return (used.user + used.system) / 1_000;
      })();
      const quiet = await (await rt.submit('idle')).result();
      const busyCpu = rt.get(busy.taskId)?.resources?.cpuMs;
      const quietCpu = rt.get(quiet.taskId)?.resources?.cpuMs;
      assert.equal(typeof busyCpu, 'number');
      assert.equal(typeof quietCpu, 'number');
      // The thread's own time: more than a task that waited, never more than the whole process used.
      assert.ok((busyCpu as number) > (quietCpu as number), `burn ${busyCpu} ms, idle ${quietCpu} ms`);
      assert.ok((busyCpu as number) <= processMs, `burn ${busyCpu} ms, whole process ${processMs} ms`);
      assert.equal(rt.get(busy.taskId)?.resources?.maxRssMb, undefined);
    }));

  it('keeps what an executor reports on the task, summed per type in metrics() and reports', () =>
    withRuntime({ executors: [metered] }, async (rt) => {
      rt.define('llm', { command: 'metered' });
      rt.define('other', { command: 'metered' });
      const a = await (await rt.submit('llm', { cpuMs: 120, maxRssMb: 40 })).result();
      await rt.run('llm', { cpuMs: 30, maxRssMb: 90 });
      await rt.run('other', { cpuMs: 5 });
      assert.deepEqual(rt.get(a.taskId)?.resources, { cpuMs: 120, maxRssMb: 40 });
      const byType = rt.metrics().resources.byType;
      assert.deepEqual(byType.llm, { tasks: 2, cpuMs: 150, maxRssMb: 90 });
      assert.deepEqual(byType.other, { tasks: 1, cpuMs: 5 });
      const report = await rt.report();
      assert.deepEqual(report.byType.find((t) => t.type === 'llm')?.resources, { tasks: 2, cpuMs: 150, maxRssMb: 90 });
      assert.match(report.toMarkdown(), /\| llm \|.*\| 150 ms \| 90 MB \|/);
    }));

  it('sums the attempts of a retried task, and keeps the figures across a restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'steward-resources-'));
    try {
      let tries = 0;
      const flaky: Executor = {
        kind: 'process',
        execute(_request, sink) {
          tries++;
          sink.resourcesUsed?.({ cpuMs: 10 * tries, maxRssMb: tries === 1 ? 70 : 20 });
          if (tries === 1) sink.failed({ code: 'STEWARD_PROCESS_EXIT', message: 'first try', retryable: true });
          else sink.succeeded('ok');
        },
        close: async () => undefined,
      };
      const first = await createRuntime({ dataDir: dir, durability: 'strict', executors: [flaky] });
      let id: string;
      try {
        first.define('flaky', { command: 'flaky', retries: { attempts: 1, delayMs: 0, jitter: false } });
        const outcome = await (await first.submit('flaky')).result();
        assert.equal(outcome.attempts, 2);
        id = outcome.taskId;
        assert.deepEqual(first.get(id)?.resources, { cpuMs: 30, maxRssMb: 70 });
      } finally {
        await first.shutdown({ timeoutMs: 0 });
      }
      const second = await createRuntime({ dataDir: dir, executors: [flaky] });
      try {
        assert.deepEqual(second.get(id)?.resources, { cpuMs: 30, maxRssMb: 70 });
        assert.deepEqual(second.metrics().resources.byType.flaky, { tasks: 1, cpuMs: 30, maxRssMb: 70 });
      } finally {
        await second.shutdown({ timeoutMs: 0 });
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
