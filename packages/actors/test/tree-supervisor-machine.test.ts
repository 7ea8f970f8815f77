import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createActor, SimulatedClock } from 'xstate';
import { treeSupervisorMachine, type RestartStrategy } from '../src/index.js';

function harness(strategy: RestartStrategy, maxRestarts = 3, withinMs = 1_000) {
  const log: string[] = [];
  const clock = new SimulatedClock();
  const machine = treeSupervisorMachine.provide({
    actions: {
      stopChild: (_a, p) => log.push(`stop ${p.child}`),
      startChild: (_a, p) => log.push(`start ${p.child}`),
      escalate: (_a, p) => log.push(`escalate ${p.supervisor} (${p.child})`),
    },
  });
  const actor = createActor(machine, { input: { name: 'services', children: ['journal', 'monitor', 'webhooks'], strategy, maxRestarts, withinMs }, clock });
  actor.start();
  const fail = (child: string) => actor.send({ type: 'child.failed', child });
  return { actor, clock, log, fail };
}

describe('tree supervisor machine', () => {
  it('one-for-one restarts only the failed child', () => {
    const { log, fail, actor } = harness('one-for-one');
    fail('monitor');
    assert.deepEqual(log, ['stop monitor', 'start monitor']);
    assert.deepEqual(actor.getSnapshot().context.restarts, { journal: 0, monitor: 1, webhooks: 0 });
  });

  it('one-for-all restarts every child: stopped in reverse order, started in order', () => {
    const { log, fail } = harness('one-for-all');
    fail('monitor');
    assert.deepEqual(log, ['stop webhooks', 'stop monitor', 'stop journal', 'start journal', 'start monitor', 'start webhooks']);
  });

  it('rest-for-one restarts the failed child and those started after it', () => {
    const { log, fail } = harness('rest-for-one');
    fail('monitor');
    assert.deepEqual(log, ['stop webhooks', 'stop monitor', 'start monitor', 'start webhooks']);
  });

  it('escalates once restarts pass the intensity within the window, and restarts nothing more', () => {
    const { log, fail, actor } = harness('one-for-one', 2, 1_000);
    fail('journal');
    fail('journal');
    fail('journal');
    assert.equal(actor.getSnapshot().value, 'escalated');
    assert.equal(actor.getSnapshot().context.failedChild, 'journal');
    assert.deepEqual(log.slice(-1), ['escalate services (journal)']);
    const before = log.length;
    fail('monitor');
    assert.equal(log.length, before, 'an escalated supervisor restarts nothing');
  });

  it('forgets restarts older than the window on the simulated clock', () => {
    const { fail, actor, clock } = harness('one-for-one', 2, 1_000);
    fail('journal');
    fail('journal');
    clock.increment(1_001);
    fail('journal');
    fail('journal');
    assert.equal(actor.getSnapshot().value, 'running');
    assert.equal(actor.getSnapshot().context.restarts.journal, 4);
  });

  it('ignores failures of children it does not own, and runs again after reset', () => {
    const { fail, actor, log } = harness('one-for-one', 0);
    fail('stranger');
    assert.deepEqual(log, []);
    fail('journal');
    assert.equal(actor.getSnapshot().value, 'escalated');
    actor.send({ type: 'reset' });
    assert.equal(actor.getSnapshot().value, 'running');
  });
});
