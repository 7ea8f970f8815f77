import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createRuntime } from '../src/index.js';

// A handler's result goes into the journal; one the journal cannot encode must fail
// the attempt with a clear code, not leave the task running (found in review).

describe('a result the journal cannot encode', () => {
  it('fails the attempt with STEWARD_NOT_SERIALIZABLE, not retried, and the runtime goes on', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'steward-unencodable-'));
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const rt = await createRuntime({ dataDir });
      try {
        rt.define('bad', { handler: () => Symbol('not data'), retries: { attempts: 3 } });
        rt.define('good', { handler: () => 'fine' });
        const outcome = await (await rt.submit('bad')).result();
        assert.equal(outcome.status, 'failed');
        assert.equal(outcome.error?.code, 'STEWARD_NOT_SERIALIZABLE');
        assert.equal(outcome.attempts, 1, 'not retried: the same handler gives the same result');
        assert.equal((await (await rt.submit('good')).result()).status, 'completed', 'the journal still takes records');
      } finally {
        await rt.shutdown();
      }
      const again = await createRuntime({ dataDir });
      try {
        const failed = again.list({ type: 'bad' });
        assert.equal(failed[0]?.status, 'failed', 'the failure was journaled');
      } finally {
        await again.shutdown();
      }
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
