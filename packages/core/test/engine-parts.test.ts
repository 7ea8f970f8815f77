import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ExecutionContext } from '@steward/actors';
import { decideEnd, type AttemptEnd } from '../src/engine/decide-end.js';
import { Releasers } from '../src/engine/releasers.js';
import { resolveDefinition } from '../src/model/task-definition.js';
import type { TaskRecord } from '../src/model/task-record.js';

// The engine's pure and small parts, tested on their own: what settling an attempt
// means (decideEnd), and shutdown by releasers.

const definition = resolveDefinition('job', { handler: async () => undefined, retries: { attempts: 2, backoff: 'fixed', delayMs: 100, jitter: false } }, { high: 3, medium: 2, low: 1 }, new Set());

function task(overrides: Partial<TaskRecord> = {}): TaskRecord {
  return { id: 't1', type: 'job', status: 'running', attempts: 1, budgetUsed: 0, retries: undefined, rateLimit: undefined, ...overrides } as TaskRecord;
}

function end(overrides: Omit<Partial<AttemptEnd>, 'context'> & { context?: Partial<ExecutionContext> } = {}): AttemptEnd {
  const { context, ...rest } = overrides;
  return {
    task: task(),
    attempt: 1,
    definition,
    end: 'completed',
    context: { executionId: 't1', timeoutMs: 1_000, ...context } as ExecutionContext,
    at: 5_000,
    resources: undefined,
    interrupting: false,
    stopped: false,
    wouldQuarantine: false,
    random: () => 0.5,
    ...rest,
  };
}

describe('decideEnd', () => {
  it('journals a completed attempt with its result and ends the task', () => {
    const decision = decideEnd(end({ context: { result: 42 } }));
    assert.equal(decision.kind, 'ended');
    if (decision.kind !== 'ended') return;
    assert.deepEqual(decision.record, { type: 'attempt:ended', at: 5_000, taskId: 't1', attempt: 1, end: 'completed', result: 42 });
    assert.equal(decision.retryDelayMs, undefined);
    assert.equal(decision.error, undefined);
  });

  it('retries a retryable failure while retries are left, with the backoff as retryAt', () => {
    const error = { code: 'E', message: 'boom', retryable: true };
    const decision = decideEnd(end({ end: 'failed', context: { error } }));
    assert.equal(decision.kind, 'ended');
    if (decision.kind !== 'ended') return;
    assert.equal(decision.retryDelayMs, 100);
    assert.equal(decision.record.retryAt, 5_100);
    assert.deepEqual(decision.record.error, error);
  });

  it('does not retry when the retries are spent or the runtime has stopped', () => {
    const error = { code: 'E', message: 'boom', retryable: true };
    const spent = decideEnd(end({ end: 'failed', context: { error }, task: task({ budgetUsed: 2 }) }));
    const stopped = decideEnd(end({ end: 'failed', context: { error }, stopped: true }));
    for (const decision of [spent, stopped]) {
      assert.equal(decision.kind, 'ended');
      if (decision.kind === 'ended') assert.equal(decision.retryDelayMs, undefined);
    }
  });

  it('quarantines on a crash past the intensity: the task fails for good with STEWARD_QUARANTINED', () => {
    const error = { code: 'STEWARD_WORKER_CRASHED', message: 'died', retryable: true };
    const decision = decideEnd(end({ end: 'failed', context: { error, crashed: true }, wouldQuarantine: true }));
    assert.equal(decision.kind, 'ended');
    if (decision.kind !== 'ended') return;
    assert.equal(decision.quarantine?.code, 'STEWARD_QUARANTINED');
    assert.equal(decision.record.error?.code, 'STEWARD_QUARANTINED');
    assert.equal(decision.record.crashed, true);
    assert.equal(decision.retryDelayMs, undefined);
  });

  it('pauses the rate bucket a provider asked to wait for', () => {
    const error = { code: 'E', message: '429', retryable: true, retryAfterMs: 2_000 };
    const decision = decideEnd(end({ end: 'failed', context: { error }, task: task({ rateLimit: 'api' }) }));
    assert.equal(decision.kind, 'ended');
    if (decision.kind !== 'ended') return;
    assert.deepEqual(decision.pauseBucket, { bucket: 'api', until: 7_000 });
    assert.equal(decision.retryDelayMs, 2_000);
  });

  it('journals an attempt stopped by shutdown as interrupted, not as an end', () => {
    const decision = decideEnd(end({ end: 'cancelled', context: { reason: 'shutdown' }, interrupting: true }));
    assert.deepEqual(decision, { kind: 'interrupted', reason: 'shutdown', record: { type: 'attempt:interrupted', at: 5_000, taskId: 't1', attempt: 1, reason: 'shutdown' } });
  });

  it('journals an attempt its executor interrupted (a batch) as interrupted with that reason, no retry spent', () => {
    const decision = decideEnd(end({ end: 'interrupted', context: { reason: 'batch' } }));
    assert.deepEqual(decision, { kind: 'interrupted', reason: 'batch', record: { type: 'attempt:interrupted', at: 5_000, taskId: 't1', attempt: 1, reason: 'batch' } });
  });

  it('keeps what the executor measured on the record', () => {
    const decision = decideEnd(end({ context: { result: 1 }, resources: { cpuMs: 12 } }));
    assert.equal(decision.kind, 'ended');
    if (decision.kind === 'ended') assert.deepEqual(decision.record.resources, { cpuMs: 12 });
  });
});

describe('Releasers', () => {
  it('runs every cleanup once, newest first, awaiting each, and goes on past one that fails', async () => {
    const warnings: string[] = [];
    const logger = { warn: (message: string) => warnings.push(message), error: () => undefined, info: () => undefined, debug: () => undefined };
    const releasers = new Releasers(logger as never);
    const order: string[] = [];
    releasers.add('store', () => order.push('store'));
    releasers.add('executors', async () => {
      await new Promise((resolve) => setImmediate(resolve));
      order.push('executors');
    });
    releasers.add('webhooks', () => {
      throw new Error('stuck');
    });
    releasers.add('workflows', () => order.push('workflows'));
    await releasers.releaseAll();
    assert.deepEqual(order, ['workflows', 'executors', 'store']);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] as string, /releasing webhooks/);
    await releasers.releaseAll();
    assert.deepEqual(order, ['workflows', 'executors', 'store'], 'each runs once');
  });
});
