import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createActor, SimulatedClock } from 'xstate';
import { executionMachine, supervisorMachine, type ExecutionActorRef } from '../src/index.js';

function harness(maxRestarts = 2, withinMs = 1_000) {
  const started: string[] = [];
  const clock = new SimulatedClock();
  const machine = supervisorMachine.provide({
    actors: {
      execution: executionMachine.provide({
        actions: { startAttempt: (_args, params) => started.push(params.executionId) },
      }),
    },
  });
  const supervisor = createActor(machine, { input: { name: 'workers', maxRestarts, withinMs }, clock });
  supervisor.start();
  const child = (id: string) => supervisor.getSnapshot().children[id] as ExecutionActorRef | undefined;
  const start = (id: string, timeoutMs?: number) =>
    supervisor.send({ type: 'execution.start', input: { executionId: id, timeoutMs } });
  return { supervisor, clock, started, child, start };
}

describe('supervisor machine', () => {
  it('spawns one execution actor per attempt and owns it until it ends', () => {
    const { supervisor, started, child, start } = harness();
    start('a');
    start('b');
    assert.deepEqual(started, ['a', 'b']);
    assert.equal(supervisor.getSnapshot().context.running, 2);
    child('a')?.send({ type: 'attempt.succeeded', result: 1 });
    assert.equal(child('a'), undefined);
    assert.equal(supervisor.getSnapshot().context.running, 1);
    assert.equal(supervisor.getSnapshot().context.started, 2);
  });

  it('counts crashed executions as restarts and not clean ends', () => {
    const { supervisor, child, start } = harness();
    start('a');
    start('b');
    child('a')?.send({ type: 'attempt.crashed', error: 'exit 1' });
    child('b')?.send({ type: 'attempt.failed', error: 'thrown' });
    assert.equal(supervisor.getSnapshot().context.restarts, 1);
  });

  it('escalates when crashes exceed the intensity within the window', () => {
    const { supervisor, child, start } = harness(2, 1_000);
    for (const id of ['a', 'b', 'c']) {
      start(id);
      child(id)?.send({ type: 'attempt.crashed', error: 'boom' });
    }
    assert.equal(supervisor.getSnapshot().value, 'escalated');
    start('d');
    assert.equal(child('d'), undefined, 'an escalated supervisor starts nothing new');
  });

  it('counts crashes of executions its owner runs itself (execution.crashed), with the same intensity and window', () => {
    const { supervisor, clock } = harness(2, 1_000);
    supervisor.send({ type: 'execution.crashed' });
    supervisor.send({ type: 'execution.crashed' });
    assert.equal(supervisor.getSnapshot().context.restarts, 2);
    assert.equal(supervisor.getSnapshot().context.running, 0, 'no child was spawned');
    clock.increment(1_001);
    assert.equal(supervisor.getSnapshot().context.recentRestarts, 0, 'the window forgot them');
    for (let i = 0; i < 3; i++) supervisor.send({ type: 'execution.crashed' });
    assert.equal(supervisor.getSnapshot().value, 'escalated');
    assert.equal(supervisor.getSnapshot().context.restarts, 5);
  });

  it('forgets crashes older than the window on the simulated clock', () => {
    const { supervisor, clock, child, start } = harness(2, 1_000);
    for (const id of ['a', 'b']) {
      start(id);
      child(id)?.send({ type: 'attempt.crashed', error: 'boom' });
    }
    clock.increment(1_001);
    assert.equal(supervisor.getSnapshot().context.recentRestarts, 0);
    start('c');
    child('c')?.send({ type: 'attempt.crashed', error: 'boom' });
    assert.equal(supervisor.getSnapshot().value, 'running');
    assert.equal(supervisor.getSnapshot().context.restarts, 3);
  });

  it('returns to running after a reset', () => {
    const { supervisor, child, start } = harness(0, 1_000);
    start('a');
    child('a')?.send({ type: 'attempt.crashed', error: 'boom' });
    assert.equal(supervisor.getSnapshot().value, 'escalated');
    supervisor.send({ type: 'reset' });
    assert.equal(supervisor.getSnapshot().value, 'running');
  });

  it('lets a child time out on the shared clock', () => {
    const { supervisor, clock, start } = harness();
    start('slow', 200);
    clock.increment(200);
    assert.equal(supervisor.getSnapshot().context.running, 0);
  });
});
