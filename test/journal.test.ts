// Cross-package: core journals every state change into a @steward/store log.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryLogStore, type LogRecord } from '@steward/store';
import { createRuntime } from '@steward/core';

async function records(store: MemoryLogStore): Promise<Array<{ type: string; taskId?: string; task?: { id: string } }>> {
  const out: Array<LogRecord<{ type: string; taskId?: string; task?: { id: string } }>> = [];
  for await (const record of store.read()) out.push(record as LogRecord<{ type: string; taskId?: string; task?: { id: string } }>);
  return out.map((r) => r.value);
}

describe('the journal', () => {
  it('holds three versioned records for a task that completes: submitted, started, ended', async () => {
    const store = new MemoryLogStore();
    const rt = await createRuntime({ store });
    rt.define('t', { handler: (n: number) => n + 1 });
    const handle = await rt.submit('t', 1);
    await handle.result();
    await rt.shutdown();
    const values = await records(store);
    assert.deepEqual(values.map((v) => v.type), ['task:submitted', 'attempt:started', 'attempt:ended']);
    for (const value of values) assert.equal((value as { v?: number }).v, 1);
    assert.equal(values[0]?.task?.id, handle.id);
    assert.deepEqual((values[2] as { end?: string; result?: unknown }).end, 'completed');
    assert.deepEqual((values[2] as { result?: unknown }).result, 2);
  });

  it('records automatic and manual retries as they happen, each with a fresh budget', async () => {
    const store = new MemoryLogStore();
    const rt = await createRuntime({ store, concurrency: 1 });
    rt.define('bad', { handler: () => { throw new Error('x'); } });
    const failing = await rt.submit('bad', null, { retries: { attempts: 1, delayMs: 0, jitter: false } });
    await failing.result();
    await rt.retry(failing.id);
    await (rt.task(failing.id)!).result();
    await rt.shutdown();
    assert.deepEqual(
      (await records(store)).map((v) => v.type),
      [
        'task:submitted',
        'attempt:started',
        'attempt:ended', // with retryAt
        'task:requeued',
        'attempt:started',
        'attempt:ended',
        'task:retried', // a manual retry restores the budget of one automatic retry
        'attempt:started',
        'attempt:ended',
        'task:requeued',
        'attempt:started',
        'attempt:ended',
      ],
    );
  });

  it('leaves a store passed in open for its owner', async () => {
    const store = new MemoryLogStore();
    const rt = await createRuntime({ store });
    await rt.shutdown();
    assert.equal(store.append([{ after: 'shutdown' }]).firstSeq, 1);
  });
});
