import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assign, createActor, setup, SimulatedClock } from 'xstate';
import { CompiledActor } from '../src/compiled-actor.js';
import { compileMachine, MachineCompileError } from '../src/compile-machine.js';
import { executionMachine, type ExecutionContext, type ExecutionEvent } from '../src/execution-machine.js';

// Model-based: the compiled form of the execution machine against an XState actor of
// the same machine, over every sequence of events up to length 6. Both get the same
// recording actions; after every event they must be in the same state with the same
// context, and have performed the same actions, with the same params, in the same order.

type Step = ExecutionEvent | { type: 'tick' };

const compiled = compileMachine(executionMachine);
const running = compiled.states.get(compiled.initial);
// The alphabet comes from the machine: every event its running state handles (one event
// object carries every payload field; each assignment reads what it needs), and time.
const ALPHABET: Step[] = [
  ...[...(running?.on.keys() ?? [])]
    .filter((type) => !type.startsWith('xstate.'))
    .map((type) => ({ type, result: { ok: 1 }, error: { code: 'E', message: 'boom' }, waitingFor: { kind: 'signal', name: 'go' }, reason: 'because' }) as unknown as ExecutionEvent),
  { type: 'cancel' },
  { type: 'tick' },
];

interface Recorded {
  type: string;
  params: unknown;
}

const ACTION_NAMES = ['startAttempt', 'stopAttempt', 'settle'] as const;

function recorders(log: Recorded[]) {
  return Object.fromEntries(ACTION_NAMES.map((type) => [type, (_args: unknown, params: unknown) => void log.push({ type, params: structuredClone(params) })]));
}

/** Runs both over `steps`, checking after each; returns whether they were done before the last step. */
function runBoth(timeoutMs: number | undefined, steps: readonly Step[]): boolean {
  const input = timeoutMs === undefined ? { executionId: 'a1' } : { executionId: 'a1', timeoutMs };
  const xLog: Recorded[] = [];
  const cLog: Recorded[] = [];
  const xClock = new SimulatedClock();
  const cClock = new SimulatedClock();
  const actor = createActor(executionMachine.provide({ actions: recorders(xLog) }), { input, clock: xClock }).start();
  const mine = new CompiledActor<ExecutionContext, ExecutionEvent>(compiled, recorders(cLog), input, cClock).start();
  const where = (i: number) => `timeoutMs ${String(timeoutMs)}, after ${i} of ${JSON.stringify(steps.map((s) => s.type))}`;
  const check = (i: number) => {
    const snapshot = actor.getSnapshot();
    assert.equal(mine.value, snapshot.value, `state, ${where(i)}`);
    assert.equal(mine.status, snapshot.status, `status, ${where(i)}`);
    assert.deepStrictEqual(mine.context, snapshot.context, `context, ${where(i)}`);
    assert.deepStrictEqual(cLog, xLog, `actions, ${where(i)}`);
    if (snapshot.status === 'done') assert.deepStrictEqual(mine.output, snapshot.output, `output, ${where(i)}`);
  };
  check(0);
  let doneBeforeLast = false;
  steps.forEach((step, i) => {
    if (i === steps.length - 1) doneBeforeLast = actor.getSnapshot().status === 'done';
    if (step.type === 'tick') {
      xClock.increment(150);
      cClock.increment(150);
    } else {
      actor.send(step as ExecutionEvent);
      mine.send(step as ExecutionEvent);
    }
    check(i + 1);
  });
  actor.stop();
  mine.stop();
  return doneBeforeLast;
}

/**
 * Every sequence of up to `length` steps, run and checked one by one, except that a
 * sequence is not extended past one step after both reached a final state: that step
 * checked they ignore it (for each kind of step), and every longer tail is ignored the
 * same way, so the runs it would add are equal to ones already checked. Returns the
 * number of sequences run.
 */
function explore(timeoutMs: number | undefined, length: number, prefix: Step[] = []): number {
  let runs = 0;
  for (const step of ALPHABET) {
    const steps = [...prefix, step];
    const doneBefore = runBoth(timeoutMs, steps);
    runs++;
    if (!doneBefore && steps.length < length) runs += explore(timeoutMs, length, steps);
  }
  return runs;
}

describe('the compiled execution machine', () => {
  for (const timeoutMs of [100, 0, undefined]) {
    it(`does what an XState actor of the machine does, for every sequence of up to 6 events (timeoutMs ${String(timeoutMs)})`, () => {
      const runs = explore(timeoutMs, 6);
      assert.ok(runs >= ALPHABET.length * ALPHABET.length, `${runs} sequences`);
    });
  }

  it('takes events sent from inside an action after the current one, as XState does', () => {
    const order: string[] = [];
    let self: CompiledActor<ExecutionContext, ExecutionEvent> | undefined;
    const actions = {
      startAttempt: () => {
        self?.send({ type: 'attempt.succeeded', result: 1 });
        order.push('started');
      },
      stopAttempt: () => order.push('stopped'),
      settle: (_a: unknown, p: unknown) => order.push(`settled ${(p as { end: string }).end}`),
    };
    self = new CompiledActor<ExecutionContext, ExecutionEvent>(compiled, actions, { executionId: 'x' }, new SimulatedClock());
    self.start();
    assert.deepEqual(order, ['started', 'settled completed']);
  });

  it('refuses at load a machine it cannot run, saying why', () => {
    const nested = setup({}).createMachine({ id: 'nested', initial: 'a', states: { a: { initial: 'b', states: { b: {} } } } });
    assert.throws(() => compileMachine(nested), (e: unknown) => e instanceof MachineCompileError && /state "a" is compound/.test(e.message));
    const inline = setup({}).createMachine({ id: 'inline', initial: 'a', states: { a: { on: { go: { target: 'b', actions: () => undefined } } }, b: {} } });
    assert.throws(() => compileMachine(inline), (e: unknown) => e instanceof MachineCompileError && /other than assign/.test(e.message));
    const always = setup({}).createMachine({ id: 'always', initial: 'a', states: { a: { always: { target: 'b' } }, b: {} } });
    assert.throws(() => compileMachine(always), (e: unknown) => e instanceof MachineCompileError && /eventless/.test(e.message));
    const assignFn = setup({ types: { context: {} as { n: number } } }).createMachine({
      id: 'assignFn',
      context: { n: 0 },
      initial: 'a',
      states: { a: { on: { go: { target: 'b', actions: assign(({ context }) => ({ n: context.n + 1 })) } } }, b: {} },
    });
    assert.throws(() => compileMachine(assignFn), (e: unknown) => e instanceof MachineCompileError && /assign/.test(e.message));
  });
});
