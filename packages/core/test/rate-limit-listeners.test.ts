import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import { ManualClock, withRuntime } from '../src/testing.js';
import { settle } from './helpers.js';

describe('ctx.rateLimit and the attempt signal', () => {
  it('removes its abort listener once the token is granted, so waits in a loop leave none behind', () => {
    const clock = new ManualClock(0);
    return withRuntime({ clock, rateLimits: { api: { limit: 1, intervalMs: 1_000 } } }, async (rt) => {
      rt.define('loop', {
        handler: async (_input, ctx) => {
          const before = getEventListeners(ctx.signal, 'abort').length;
          // Every take after the first waits for the window: the path that added a listener.
          for (let i = 0; i < 20; i++) await ctx.rateLimit('api');
          return { before, after: getEventListeners(ctx.signal, 'abort').length };
        },
      });
      const handle = await rt.submit('loop');
      for (let step = 0; step < 40 && handle.getStatus().status !== 'completed'; step++) {
        await settle();
        clock.advance(1_000);
      }
      const outcome = await handle.result();
      assert.equal(outcome.status, 'completed');
      const { before, after } = outcome.result as { before: number; after: number };
      assert.equal(after, before, `abort listeners: ${before} before the loop, ${after} after 20 waits`);
    });
  });
});
