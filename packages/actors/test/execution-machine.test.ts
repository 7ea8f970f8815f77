import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createActor, SimulatedClock } from 'xstate';
import { executionMachine, type ExecutionEnd } from '../src/index.js';

function harness(timeoutMs?: number) {
  const log: string[] = [];
  const ends: ExecutionEnd[] = [];
  const clock = new SimulatedClock();
  const machine = executionMachine.provide({
    actions: {
      startAttempt: (_args, params) => log.push(`start ${params.executionId}`),
      stopAttempt: (_args, params) => log.push(`stop ${params.executionId} ${params.end}`),
      settle: (_args, params) => {
        ends.push(params.end);
        log.push(`settle ${params.end}`);
      },
    },
  });
  const actor = createActor(machine, { input: { executionId: 't1', timeoutMs }, clock });
  actor.start();
  return { actor, clock, log, ends };
}

describe('execution machine', () => {
  it('starts the attempt on entry and completes with the result', () => {
    const { actor, log, ends } = harness();
    actor.send({ type: 'attempt.succeeded', result: 42 });
    assert.deepEqual(log, ['start t1', 'settle completed']);
    assert.deepEqual(ends, ['completed']);
    assert.equal(actor.getSnapshot().status, 'done');
    assert.deepEqual(actor.getSnapshot().output, { executionId: 't1', end: 'completed', crashed: false });
    assert.equal(actor.getSnapshot().context.result, 42);
  });

  it('fails with the error a handler threw, without stopping anything', () => {
    const { actor, log } = harness();
    actor.send({ type: 'attempt.failed', error: { code: 'X' } });
    assert.deepEqual(log, ['start t1', 'settle failed']);
    assert.deepEqual(actor.getSnapshot().context.error, { code: 'X' });
    assert.equal(actor.getSnapshot().output?.crashed, false);
  });

  it('marks a crash of the executor as a crashed failure', () => {
    const { actor } = harness();
    actor.send({ type: 'attempt.crashed', error: { code: 'STEWARD_WORKER_CRASHED' } });
    assert.deepEqual(actor.getSnapshot().output, { executionId: 't1', end: 'failed', crashed: true });
  });

  it('ends as suspended when the work parks itself on a wait: nothing is stopped, later reports and the deadline are ignored', () => {
    const { actor, clock, log, ends } = harness(500);
    actor.send({ type: 'attempt.suspended', waitingFor: { kind: 'signal', name: 'approval' } });
    assert.deepEqual(log, ['start t1', 'settle suspended']);
    assert.deepEqual(actor.getSnapshot().context.waitingFor, { kind: 'signal', name: 'approval' });
    actor.send({ type: 'attempt.succeeded', result: 'late' });
    clock.increment(1_000);
    assert.deepEqual(ends, ['suspended']);
    assert.deepEqual(actor.getSnapshot().output, { executionId: 't1', end: 'suspended', crashed: false });
  });

  it('times out on the simulated clock, stops the work, then settles once', () => {
    const { actor, clock, log, ends } = harness(500);
    clock.increment(499);
    assert.equal(actor.getSnapshot().status, 'active');
    clock.increment(1);
    assert.deepEqual(log, ['start t1', 'stop t1 timed_out', 'settle timed_out']);
    actor.send({ type: 'attempt.succeeded', result: 'late' });
    assert.deepEqual(ends, ['timed_out']);
  });

  it('never times out without a deadline', () => {
    const { actor, clock } = harness(0);
    clock.increment(10 ** 9);
    assert.equal(actor.getSnapshot().status, 'active');
  });

  it('cancels by stopping the work and keeps the reason', () => {
    const { actor, clock, log } = harness(1_000);
    actor.send({ type: 'cancel', reason: 'no longer needed' });
    clock.increment(5_000);
    assert.deepEqual(log, ['start t1', 'stop t1 cancelled', 'settle cancelled']);
    assert.equal(actor.getSnapshot().context.reason, 'no longer needed');
  });

  it('ends exactly once whatever arrives after the end', () => {
    const { actor, clock, ends } = harness(100);
    actor.send({ type: 'attempt.succeeded', result: 1 });
    actor.send({ type: 'attempt.failed', error: 'late' });
    actor.send({ type: 'cancel' });
    clock.increment(1_000);
    assert.deepEqual(ends, ['completed']);
  });
});
