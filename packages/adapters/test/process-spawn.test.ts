import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createRuntime } from '@steward/core';
import { processExecutor } from '../src/index.js';

describe('starting a process task', () => {
  it('names the missing working directory instead of blaming the program', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'steward-cwd-'));
    const missing = join(parent, 'no-such-folder');
    const rt = await createRuntime({ executors: [processExecutor()] });
    try {
      rt.define('in-missing', { command: process.execPath, args: ['-e', ''], cwd: missing, retries: { attempts: 2 } });
      const outcome = await (await rt.submit('in-missing')).result();
      assert.equal(outcome.status, 'failed');
      assert.equal(outcome.error?.code, 'STEWARD_PROCESS_SPAWN');
      assert.ok(outcome.error?.message.includes(missing), outcome.error?.message);
      assert.match(outcome.error?.message ?? '', /working directory/);
      assert.equal(outcome.attempts, 1, 'a missing folder is not retried');
    } finally {
      await rt.shutdown({ timeoutMs: 0 });
      rmSync(parent, { recursive: true, force: true });
    }
  });
});
