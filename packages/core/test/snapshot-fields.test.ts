import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { withRuntime } from '../src/testing.js';

describe('a task snapshot', () => {
  it('carries the concurrency key and the budget the task was submitted with, and neither when it had none', () =>
    withRuntime({ rateLimits: { llm: { limit: 1_000, intervalMs: 1_000 } } }, async (rt) => {
      rt.define('agent', { handler: () => 'done' });
      const keyed = await rt.submit('agent', null, { concurrencyKey: 'tenant-a', budget: { llm: 500 } });
      const plain = await rt.submit('agent', null);
      await Promise.all([keyed.result(), plain.result()]);
      const snapshot = rt.get(keyed.id);
      assert.equal(snapshot?.concurrencyKey, 'tenant-a');
      assert.deepEqual(snapshot?.budget, { llm: 500 });
      const other = rt.get(plain.id);
      assert.equal(other?.concurrencyKey, undefined);
      assert.equal(other?.budget, undefined);
    }));
});
