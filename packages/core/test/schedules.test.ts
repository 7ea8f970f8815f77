import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createRuntime, isStewardError, type Runtime, type RuntimeOptions, type ScheduleSpec } from '../src/index.js';
import { ManualClock, withRuntime } from '../src/testing.js';
import { settle } from './helpers.js';

const T0 = Date.UTC(2024, 0, 1, 0, 0, 0);
const MINUTE = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();

/** Fire times of the schedule:fired events, as ISO strings. */
function firings(rt: Runtime): { at: string[]; taskIds: string[] } {
  const seen = { at: [] as string[], taskIds: [] as string[] };
  rt.events({ policy: 'block' }).subscribe((event) => {
    if (event.type !== 'schedule:fired') return;
    seen.at.push(iso(event.fireAt));
    seen.taskIds.push(event.taskId);
  });
  return seen;
}

/**
 * The task the firing of `scheduleId` at `fireAt` submitted, found by its idempotency
 * key (a second submit with it returns that task), or undefined when there is none.
 */
async function taskOfFiring(rt: Runtime, type: string, scheduleId: string, fireAt: number): Promise<string | undefined> {
  const before = rt.list({ type, limit: 100_000 }).length;
  const probe = await rt.submit(type, 'probe', { idempotencyKey: `schedule:${scheduleId}:${iso(fireAt)}` });
  if (rt.list({ type, limit: 100_000 }).length === before) return probe.id;
  await rt.cancel(probe.id);
  return undefined;
}

async function rejectsWith(promise: Promise<unknown>, code: string, text: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(isStewardError(error), String(error));
    assert.equal(error.code, code);
    assert.ok(error.message.includes(text), `"${error.message}" names ${text}`);
    return true;
  });
}

/** Moves the clock `totalMs` on in steps of `stepMs`, letting the tasks run between steps. */
async function advance(clock: ManualClock, totalMs: number, stepMs: number): Promise<void> {
  for (let done = 0; done < totalMs; done += stepMs) {
    clock.advance(Math.min(stepMs, totalMs - done));
    await settle();
  }
}

describe('schedules', () => {
  it("fires a cron pattern in its time zone: '0 3 * * *' in Europe/Berlin is 02:00 UTC before the DST change and 01:00 UTC after", async () => {
    const clock = new ManualClock(Date.UTC(2024, 2, 29, 12, 0, 0));
    await withRuntime({ clock, concurrency: 2 }, async (rt) => {
      rt.define('nightly', { handler: async () => 'ok' });
      const seen = firings(rt);
      const info = await rt.schedule('nightly', { cron: '0 3 * * *', timezone: 'Europe/Berlin', type: 'nightly' });
      assert.equal(info.next, Date.UTC(2024, 2, 30, 2, 0, 0));
      assert.equal(info.timezone, 'Europe/Berlin');
      await advance(clock, 3 * 86_400_000, 3_600_000);
      assert.deepEqual(seen.at, ['2024-03-30T02:00:00.000Z', '2024-03-31T01:00:00.000Z', '2024-04-01T01:00:00.000Z']);
      const [listed] = rt.schedules();
      assert.equal(listed?.last, Date.UTC(2024, 3, 1, 1, 0, 0));
      assert.equal(listed?.next, Date.UTC(2024, 3, 2, 1, 0, 0));
      assert.equal(listed?.lastTaskId, seen.taskIds[2]);
      // Each firing submitted with the key schedule:<id>:<fire time ISO>.
      assert.equal(await taskOfFiring(rt, 'nightly', 'nightly', Date.UTC(2024, 2, 31, 1, 0, 0)), seen.taskIds[1]);
      assert.equal(rt.get(seen.taskIds[0] as string)?.status, 'completed');
    });
  });

  it('fires an every schedule at its creation time plus whole multiples of every', async () => {
    const clock = new ManualClock(T0 + 1_234);
    await withRuntime({ clock }, async (rt) => {
      rt.define('tick', { handler: async (input: unknown) => input });
      const seen = firings(rt);
      const info = await rt.schedule('tick', { every: MINUTE, type: 'tick', input: { n: 1 } });
      assert.equal(info.next, T0 + 1_234 + MINUTE);
      assert.equal(info.every, MINUTE);
      assert.equal(info.timezone, 'UTC');
      await advance(clock, 3 * MINUTE + 30_000, 10_000);
      assert.deepEqual(seen.at, [1, 2, 3].map((k) => iso(T0 + 1_234 + k * MINUTE)));
      assert.equal(rt.schedules()[0]?.next, T0 + 1_234 + 4 * MINUTE);
      assert.deepEqual((await rt.task(seen.taskIds[0] as string)?.result())?.result, { n: 1 });
    });
  });

  it("overlap 'skip' (the default) lets a firing go while the last one's task has not ended; 'allow' fires regardless", async () => {
    const clock = new ManualClock(T0);
    await withRuntime({ clock, concurrency: 4 }, async (rt) => {
      const gates: Array<() => void> = [];
      rt.define('slow', { handler: () => new Promise<string>((resolve) => gates.push(() => resolve('done'))) });
      const seen = firings(rt);
      await rt.schedule('skip', { every: MINUTE, type: 'slow' });
      await rt.schedule('allow', { every: MINUTE, type: 'slow', overlap: 'allow' });
      clock.advance(MINUTE);
      await settle();
      assert.equal(gates.length, 2);
      clock.advance(MINUTE);
      await settle();
      const skipInfo = rt.schedules().find((s) => s.id === 'skip');
      assert.equal(skipInfo?.last, T0 + MINUTE, 'the second firing of "skip" was skipped');
      assert.equal(skipInfo?.next, T0 + 3 * MINUTE, 'next moved on');
      assert.equal(rt.schedules().find((s) => s.id === 'allow')?.last, T0 + 2 * MINUTE);
      assert.equal(gates.length, 3);
      for (const open of gates.splice(0)) open();
      await settle();
      clock.advance(MINUTE);
      await settle();
      assert.equal(rt.schedules().find((s) => s.id === 'skip')?.last, T0 + 3 * MINUTE, 'fires again once the last task ended');
      assert.equal(rt.list({ type: 'slow' }).length, 5);
      assert.equal(seen.at.length, 5);
      for (const open of gates.splice(0)) open();
    });
  });

  it('pause skips the firings that fall while paused (not caught up); resume fires from the next fire time on', async () => {
    const clock = new ManualClock(T0);
    await withRuntime({ clock }, async (rt) => {
      rt.define('tick', { handler: async () => 'ok' });
      const seen = firings(rt);
      await rt.schedule('tick', { every: MINUTE, type: 'tick', catchUp: 'all' });
      clock.advance(10_000);
      assert.equal((await rt.pauseSchedule('tick')).paused, true);
      clock.advance(200_000);
      await settle();
      assert.deepEqual(seen.at, []);
      const resumed = await rt.resumeSchedule('tick');
      assert.equal(resumed.paused, false);
      assert.equal(resumed.next, T0 + 4 * MINUTE, 'the grid is kept; what fell in the pause is gone');
      clock.advance(MINUTE);
      await settle();
      assert.deepEqual(seen.at, [iso(T0 + 4 * MINUTE)]);
      await rejectsWith(rt.pauseSchedule('nope'), 'STEWARD_SCHEDULE_NOT_FOUND', 'nope');
    });
  });

  it('the same id replaces the schedule (its grid starts again); the same spec again changes nothing; unschedule removes it', async () => {
    const clock = new ManualClock(T0);
    await withRuntime({ clock }, async (rt) => {
      rt.define('tick', { handler: async () => 'ok' });
      const seen = firings(rt);
      const spec: ScheduleSpec = { every: MINUTE, type: 'tick', input: { a: 1, b: 2 } };
      await rt.schedule('s', spec);
      clock.advance(30_000);
      const again = await rt.schedule('s', { type: 'tick', input: { b: 2, a: 1 }, every: MINUTE });
      assert.equal(again.createdAt, T0, 'unchanged: keeps its grid');
      const replaced = await rt.schedule('s', { every: 90_000, type: 'tick' });
      assert.equal(replaced.createdAt, T0 + 30_000);
      assert.equal(replaced.next, T0 + 120_000);
      assert.equal(rt.schedules().length, 1);
      clock.advance(90_000);
      await settle();
      assert.deepEqual(seen.at, [iso(T0 + 120_000)]);
      assert.equal(await rt.unschedule('s'), true);
      assert.deepEqual(rt.schedules(), []);
      clock.advance(10 * MINUTE);
      await settle();
      assert.equal(seen.at.length, 1);
      assert.equal(await rt.unschedule('s'), false);
    });
  });

  it('a firing waits for its task type to be defined (a config defines its types after the runtime opens)', async () => {
    const clock = new ManualClock(T0);
    const warnings: string[] = [];
    const logger = { warn: (line: string) => warnings.push(line), error: () => undefined };
    await withRuntime({ clock, logger, schedules: { late: { every: MINUTE, type: 'late', catchUp: 'none' } } }, async (rt) => {
      const seen = firings(rt);
      clock.advance(MINUTE);
      await settle();
      assert.deepEqual(seen.at, []);
      assert.ok(warnings.some((w) => w.includes('"late" waits for its task type')), warnings.join('\n'));
      rt.define('late', { handler: async () => 'ok' });
      clock.advance(1_000);
      await settle();
      assert.deepEqual(seen.at, [iso(T0 + MINUTE)], 'the held firing runs once its type is defined');
      assert.equal(rt.schedules()[0]?.next, T0 + 2 * MINUTE);
    });
  });

  it('schedule:fired is journaled: replayEvents gives back the event as it was live', async () => {
    const clock = new ManualClock(T0);
    await withRuntime({ clock }, async (rt) => {
      rt.define('tick', { handler: async () => 'ok' });
      const live: unknown[] = [];
      rt.events({ policy: 'block' }).subscribe((event) => event.type === 'schedule:fired' && live.push(event));
      await rt.schedule('tick', { every: MINUTE, type: 'tick' });
      clock.advance(MINUTE);
      await settle();
      const replayed: unknown[] = [];
      for await (const { event } of rt.replayEvents(0)) if (event.type === 'schedule:fired') replayed.push(event);
      assert.equal(live.length, 1);
      assert.deepEqual(replayed, live);
      assert.deepEqual(live[0], { type: 'schedule:fired', taskId: rt.schedules()[0]?.lastTaskId, scheduleId: 'tick', fireAt: T0 + MINUTE, at: T0 + MINUTE });
    });
  });

  it('refuses a bad cron pattern or time zone with STEWARD_INVALID_OPTIONS and the path, in schedule() and in createRuntime', async () => {
    await withRuntime({}, async (rt) => {
      await rejectsWith(rt.schedule('a', { cron: '61 * * * *', type: 't' }), 'STEWARD_INVALID_OPTIONS', 'spec.cron');
      await rejectsWith(rt.schedule('a', { cron: 'every day', type: 't' }), 'STEWARD_INVALID_OPTIONS', 'spec.cron');
      await rejectsWith(rt.schedule('a', { cron: '0 0 30 2 *', type: 't' }), 'STEWARD_INVALID_OPTIONS', 'spec.cron: "0 0 30 2 *" never fires');
      await rejectsWith(rt.schedule('a', { cron: '0 3 * * *', timezone: 'Mars/Olympus', type: 't' }), 'STEWARD_INVALID_OPTIONS', 'spec.timezone');
      await rejectsWith(rt.schedule('a', { cron: '0 3 * * *', every: MINUTE, type: 't' }), 'STEWARD_INVALID_OPTIONS', 'spec.every: give exactly one');
      await rejectsWith(rt.schedule('a', { type: 't' } as ScheduleSpec), 'STEWARD_INVALID_OPTIONS', 'spec: give exactly one');
      await rejectsWith(rt.schedule('a', { every: 10, type: 't' }), 'STEWARD_INVALID_OPTIONS', 'spec.every');
      await rejectsWith(rt.schedule('a/b', { every: MINUTE, type: 't' }), 'STEWARD_INVALID_OPTIONS', 'id');
      await rejectsWith(rt.schedule('a', { every: MINUTE, type: 't', options: { idempotencyKey: 'k' } } as ScheduleSpec), 'STEWARD_INVALID_OPTIONS', 'spec.options');
      assert.deepEqual(rt.schedules(), []);
    });
    await rejectsWith(createRuntime({ schedules: { nightly: { cron: '0 3 * * *', timezone: 'Nowhere/Land', type: 't' } } }), 'STEWARD_INVALID_OPTIONS', 'options.schedules.nightly.timezone');
    await rejectsWith(createRuntime({ schedules: { nightly: { cron: '0 25 * * *', type: 't' } } }), 'STEWARD_INVALID_OPTIONS', 'options.schedules.nightly.cron');
  });
});

describe('schedules across a restart of a LevelDB data directory', () => {
  /**
   * Runs a schedule (given in createRuntime, as a config would) through one firing,
   * shuts down, and opens the directory again `downMs` later: what does it catch up?
   */
  async function afterDowntime(spec: ScheduleSpec, downMs: number, check: (rt: Runtime, clock: ManualClock, seen: ReturnType<typeof firings>) => Promise<void>, more: RuntimeOptions = {}): Promise<void> {
    const dataDir = await mkdtemp(join(tmpdir(), 'steward-schedules-'));
    try {
      const tasks = { job: { handler: async () => 'ok' } };
      const clock = new ManualClock(T0);
      const first = await createRuntime({ dataDir, clock, tasks, schedules: { s: spec }, ...more });
      clock.advance(MINUTE);
      await settle();
      assert.equal(first.schedules()[0]?.last, T0 + MINUTE);
      await first.task(first.schedules()[0]?.lastTaskId as string)?.result();
      await first.shutdown();
      const later = new ManualClock(T0 + MINUTE + downMs);
      const rt = await createRuntime({ dataDir, clock: later, tasks, schedules: { s: spec }, ...more });
      try {
        await check(rt, later, firings(rt));
      } finally {
        await rt.shutdown();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  }

  const jobs = (rt: Runtime) => rt.list({ type: 'job', limit: 1_000 });

  it("catchUp 'none': the firings missed while down are let go; the grid goes on", async () => {
    await afterDowntime({ every: MINUTE, type: 'job', catchUp: 'none' }, 5 * MINUTE + 30_000, async (rt, clock) => {
      assert.equal(jobs(rt).length, 1);
      assert.equal(rt.schedules()[0]?.next, T0 + 7 * MINUTE);
      clock.advance(30_000);
      await settle();
      assert.equal(jobs(rt).length, 2);
      assert.equal(rt.schedules()[0]?.last, T0 + 7 * MINUTE);
    });
  });

  it("catchUp 'latest' (the default): one run, for the latest missed firing, and the grid does not move", async () => {
    await afterDowntime({ every: MINUTE, type: 'job' }, 5 * MINUTE + 30_000, async (rt, clock) => {
      assert.equal(jobs(rt).length, 2);
      const [info] = rt.schedules();
      assert.equal(info?.last, T0 + 6 * MINUTE);
      assert.equal(info?.next, T0 + 7 * MINUTE);
      assert.equal(await taskOfFiring(rt, 'job', 's', T0 + 6 * MINUTE), info?.lastTaskId);
      clock.advance(30_000);
      await settle();
      assert.equal(jobs(rt).length, 3);
    });
  });

  it("catchUp 'all': a run for each missed firing, at most the latest 100", async () => {
    await afterDowntime({ every: MINUTE, type: 'job', catchUp: 'all' }, 5 * MINUTE + 30_000, async (rt) => {
      assert.equal(jobs(rt).length, 6);
      for (let k = 2; k <= 6; k++) assert.ok((await taskOfFiring(rt, 'job', 's', T0 + k * MINUTE)) !== undefined, `firing ${k} ran`);
      assert.equal(rt.schedules()[0]?.last, T0 + 6 * MINUTE);
    });
    await afterDowntime({ every: MINUTE, type: 'job', catchUp: 'all', overlap: 'allow' }, 150 * MINUTE, async (rt) => {
      assert.equal(jobs(rt).length, 101);
      assert.equal(rt.schedules()[0]?.last, T0 + 151 * MINUTE);
      assert.equal(await taskOfFiring(rt, 'job', 's', T0 + 51 * MINUTE), undefined, 'the 101st latest was let go');
      assert.notEqual(await taskOfFiring(rt, 'job', 's', T0 + 52 * MINUTE), undefined);
    });
  });

  it('a paused schedule stays paused across the restart and catches nothing up when resumed', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'steward-schedules-'));
    try {
      const tasks = { job: { handler: async () => 'ok' } };
      const first = await createRuntime({ dataDir, clock: new ManualClock(T0), tasks });
      await first.schedule('p', { every: MINUTE, type: 'job', catchUp: 'all' });
      await first.pauseSchedule('p');
      await first.shutdown();
      const clock = new ManualClock(T0 + 10 * MINUTE + 1);
      const rt = await createRuntime({ dataDir, clock, tasks });
      try {
        assert.equal(rt.schedules()[0]?.paused, true);
        await rt.resumeSchedule('p');
        clock.advance(MINUTE);
        await settle();
        assert.equal(jobs(rt).length, 1);
        assert.equal(rt.schedules()[0]?.last, T0 + 11 * MINUTE);
      } finally {
        await rt.shutdown();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('a snapshot keeps the schedules (the journal compacted below them)', async () => {
    await afterDowntime(
      { every: MINUTE, type: 'job', catchUp: 'none' },
      MINUTE / 2,
      async (rt) => {
        assert.equal(rt.recovery.snapshotSeq > 0, true);
        assert.equal(rt.schedules()[0]?.last, T0 + MINUTE);
        assert.equal(rt.schedules()[0]?.createdAt, T0);
      },
      { snapshotEvery: 1 },
    );
  });
});
