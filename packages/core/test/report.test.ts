import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { nextReportAt } from '../src/reports/report-schedule.js';
import { ManualClock, withRuntime } from '../src/testing.js';
import { settle, WORKERS } from './helpers.js';

describe('summary reports', () => {
  it('sums up a workload per type: success, durations, failures, retries, crashes, contention', () => {
    const clock = new ManualClock(Date.UTC(2026, 10, 22, 12));
    let reading = { cpuPercent: 10, memoryMb: 100 };
    return withRuntime(
      {
        clock,
        concurrency: 2,
        workers: { minThreads: 1, maxThreads: 1 },
        rateLimits: { api: { limit: 1, intervalMs: 1_000 } },
        resourceGuard: { maxCpuPercent: 80, intervalMs: 1_000, sampler: () => reading },
      },
      async (rt) => {
        rt.define('ok', { handler: async () => { clock.advance(100); return 1; } });
        rt.define('flaky', { retries: { attempts: 1, delayMs: 0, jitter: false }, handler: (_i, ctx) => { if (ctx.attempt === 1) throw new Error('first try'); return 2; } });
        rt.define('broken', { handler: () => { throw new Error('always broken'); } });
        rt.define('crashy', { module: WORKERS, export: 'exit' });
        rt.define('api', { rateLimit: 'api', handler: () => 3 });
        let open!: () => void;
        const gate = new Promise<void>((r) => (open = r));
        rt.define('locked', { locks: ['file'], handler: async () => { await gate; return 4; } });
        // Two tasks on one lock: the second waits for the first.
        const first = await rt.submit('locked');
        await settle();
        const second = await rt.submit('locked');
        await settle();
        open();
        await Promise.all([first.result(), second.result()]);
        const handles = [];
        for (let i = 0; i < 3; i++) handles.push(await rt.submit('ok'));
        handles.push(await rt.submit('flaky'), await rt.submit('broken'), await rt.submit('broken'), await rt.submit('crashy'));
        handles.push(await rt.submit('api'), await rt.submit('api'));
        reading = { cpuPercent: 95, memoryMb: 100 };
        clock.advance(1_000);
        reading = { cpuPercent: 10, memoryMb: 100 };
        for (let i = 0; i < 10; i++) {
          clock.advance(1_000);
          await settle(5);
        }
        await Promise.all(handles.map((h) => h.result()));
        const report = await rt.report({ sinceMs: 86_400_000 });
        assert.equal(report.totals.ended, 11);
        assert.equal(report.totals.completed, 8);
        assert.equal(report.totals.failed, 3);
        assert.equal(report.totals.successRate, 72.7);
        assert.equal(report.totals.retries, 1);
        assert.equal(report.totals.crashes, 1);
        const ok = report.byType.find((t) => t.type === 'ok');
        assert.deepEqual([ok?.ended, ok?.successRate, ok?.p50Ms], [3, 100, 100]);
        assert.deepEqual(report.topFailures.map((f) => [f.code, f.count]), [['STEWARD_HANDLER_ERROR', 2], ['STEWARD_WORKER_CRASHED', 1]]);
        assert.equal(report.topFailures[0]?.examples[0]?.message, 'always broken');
        assert.equal(report.locks.tasksThatWaited, 1);
        assert.equal(report.rateLimits.tasksThatWaited, 1);
        assert.equal(report.throttling.periods.length, 1);
        assert.deepEqual(report.restarts.byType, { crashy: 1 });
        const markdown = report.toMarkdown();
        assert.match(markdown, /^# Steward report: the last 1 day/);
        assert.match(markdown, /\*\*11 tasks ended: 8 completed, 3 failed\. Success rate 72\.7%\.\*\*/);
        assert.match(markdown, /\| ok \| 3 \| 100% \| 100 ms \|/);
        assert.match(markdown, /`STEWARD_HANDLER_ERROR` ×2, e\.g\. broken [0-9a-f]{8}: always broken/);
        assert.match(markdown, /- Locks: 1 tasks waited/);
        assert.match(markdown, /- Resource guard: throttled 1 times/);
        assert.match(markdown, /- Supervisor restarts: 1 \(crashy 1\)/);
        assert.equal(JSON.parse(JSON.stringify(report)).toMarkdown, undefined, 'the JSON is for machines');
      },
    );
  });

  it('leaves out what ended before the window', () => {
    const clock = new ManualClock(Date.UTC(2026, 10, 22, 12));
    return withRuntime({ clock }, async (rt) => {
      rt.define('ok', { handler: () => 1 });
      await rt.run('ok');
      clock.advance(2 * 3_600_000);
      await rt.run('ok');
      clock.advance(10);
      assert.equal((await rt.report({ sinceMs: 3_600_000 })).totals.ended, 1);
      assert.equal((await rt.report({ sinceMs: 3 * 3_600_000 })).totals.ended, 2);
      const empty = await rt.report({ sinceMs: 1 });
      assert.match(empty.toMarkdown(), /No task ended in this window/);
    });
  });

  it('writes a report on a schedule into a directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'steward-reports-'));
    const clock = new ManualClock(Date.UTC(2026, 10, 22, 23, 0));
    try {
      await withRuntime({ clock, reports: { every: 'daily', dir } }, async (rt) => {
        rt.define('ok', { handler: () => 1 });
        await rt.run('ok');
        clock.advance(3_600_000);
        for (let i = 0; i < 20 && (await readdir(dir)).length < 2; i++) await new Promise((r) => setTimeout(r, 10));
        assert.deepEqual((await readdir(dir)).sort(), ['steward-report-2026-11-23.json', 'steward-report-2026-11-23.md']);
        assert.match(await readFile(join(dir, 'steward-report-2026-11-23.md'), 'utf8'), /1 tasks ended: 1 completed/);
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('schedules daily at midnight UTC and weekly on Mondays', () => {
    const saturdayNoon = Date.UTC(2026, 10, 21, 12);
    assert.equal(nextReportAt(saturdayNoon, 'daily'), Date.UTC(2026, 10, 22));
    assert.equal(nextReportAt(saturdayNoon, 'weekly'), Date.UTC(2026, 10, 23));
    assert.equal(new Date(nextReportAt(saturdayNoon, 'weekly')).getUTCDay(), 1);
  });
});
