import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TaskFailure } from '../src/index.js';
import { ManualClock, withRuntime } from '../src/testing.js';
import { settle } from './helpers.js';

describe('retries', () => {
  it('retries a failing task with exponential backoff on the clock, then completes', () => {
    const clock = new ManualClock();
    return withRuntime({ clock }, async (rt) => {
      let calls = 0;
      rt.define('flaky', {
        retries: { attempts: 3, backoff: 'exponential', delayMs: 1_000, jitter: false },
        handler: (_input, ctx) => {
          calls++;
          if (ctx.attempt < 3) throw new Error(`try ${ctx.attempt}`);
          return `ok on ${ctx.attempt}`;
        },
      });
      const delays: number[] = [];
      rt.on('task:retrying', (e) => delays.push(e.delayMs));
      const handle = await rt.submit('flaky');
      await settle();
      assert.equal(calls, 1);
      assert.equal(handle.getStatus().status, 'retrying');
      clock.advance(999);
      await settle();
      assert.equal(calls, 1, 'not before the delay');
      clock.advance(11);
      await settle();
      assert.equal(calls, 2);
      clock.advance(2_010);
      await settle();
      const outcome = await handle.result();
      assert.equal(outcome.status, 'completed');
      assert.equal(outcome.result, 'ok on 3');
      assert.equal(outcome.attempts, 3);
      assert.deepEqual(delays, [1_000, 2_000]);
    });
  });

  it('fails for good after the last retry, with the last error', () => {
    const clock = new ManualClock();
    return withRuntime({ clock }, async (rt) => {
      rt.define('bad', { handler: (_i, ctx) => { throw new Error(`try ${ctx.attempt}`); } });
      const handle = await rt.submit('bad', null, { retries: { attempts: 2, backoff: 'fixed', delayMs: 500, jitter: false } });
      for (let i = 0; i < 4; i++) {
        await settle();
        clock.advance(510);
      }
      const outcome = await handle.result();
      assert.equal(outcome.status, 'failed');
      assert.equal(outcome.attempts, 3);
      assert.equal(outcome.error?.message, 'try 3');
      assert.equal(outcome.error?.code, 'STEWARD_HANDLER_ERROR');
    });
  });

  it('does not retry an error the handler marked non-retryable', () =>
    withRuntime({}, async (rt) => {
      rt.define('quota', { retries: { attempts: 5 }, handler: () => { throw new TaskFailure('quota exhausted', { code: 'QUOTA', retryable: false }); } });
      const outcome = await (await rt.submit('quota')).result();
      assert.equal(outcome.status, 'failed');
      assert.equal(outcome.attempts, 1);
      assert.deepEqual({ code: outcome.error?.code, retryable: outcome.error?.retryable }, { code: 'QUOTA', retryable: false });
    }));

  it('caps the delay at maxDelayMs', () => {
    const clock = new ManualClock();
    return withRuntime({ clock }, async (rt) => {
      const delays: number[] = [];
      rt.on('task:retrying', (e) => delays.push(e.delayMs));
      rt.define('bad', { handler: () => { throw new Error('x'); } });
      const handle = await rt.submit('bad', null, { retries: { attempts: 4, delayMs: 1_000, maxDelayMs: 3_000, jitter: false } });
      for (let i = 0; i < 6; i++) {
        await settle();
        clock.advance(3_010);
      }
      await handle.result();
      assert.deepEqual(delays, [1_000, 2_000, 3_000, 3_000]);
    });
  });

  it('runs a failed task again by hand with retry(), and refuses to retry a completed one', () =>
    withRuntime({}, async (rt) => {
      let fail = true;
      rt.define('maybe', { handler: () => { if (fail) throw new Error('no'); return 'yes'; } });
      const handle = await rt.submit('maybe');
      assert.equal((await handle.result()).status, 'failed');
      fail = false;
      const again = await rt.retry(handle.id);
      assert.equal(again.id, handle.id);
      const outcome = await again.result();
      assert.equal(outcome.status, 'completed');
      assert.equal(outcome.attempts, 2);
      await assert.rejects(rt.retry(handle.id), (e: unknown) => (e as { code?: string }).code === 'STEWARD_INVALID_STATE');
    }));

  it('cancels a task waiting out its backoff', () => {
    const clock = new ManualClock();
    return withRuntime({ clock }, async (rt) => {
      let calls = 0;
      rt.define('bad', { handler: () => { calls++; throw new Error('x'); } });
      const handle = await rt.submit('bad', null, { retries: { attempts: 3, delayMs: 1_000 } });
      await settle();
      assert.equal(handle.getStatus().status, 'retrying');
      assert.deepEqual(await handle.cancel('enough'), { cancelled: true, status: 'cancelled' });
      clock.advance(10_000);
      await settle();
      assert.equal(calls, 1);
      assert.equal((await handle.result()).error?.code, 'STEWARD_CANCELLED');
    });
  });
});
