import { type ActorRefFrom, assign, enqueueActions, setup, spawnChild } from 'xstate';
import { executionMachine, type ExecutionInput, type ExecutionOutput } from './execution-machine.js';

/**
 * Restart intensity: at most `maxRestarts` crashes within `withinMs`, else escalate.
 * Both are required: the machine has no default of its own, so the policy in force
 * is the owner's (the runtime's `supervision` option and its defaults).
 */
export interface SupervisorInput {
  /** Name of this node in the supervision tree. */
  readonly name: string;
  readonly maxRestarts: number;
  readonly withinMs: number;
}

/** Context of a supervisor: its counters, read by `supervision()` views. */
export interface SupervisorContext {
  readonly name: string;
  readonly maxRestarts: number;
  readonly withinMs: number;
  /** Executions started under this supervisor since it began. */
  started: number;
  /** Crashed executions over the supervisor's whole life (each one a restart of the slot). */
  restarts: number;
  /** Crashes still inside the intensity window. */
  recentRestarts: number;
  /** Execution actors alive now (their refs are the supervisor's children). */
  running: number;
}

/** Events a supervisor accepts. */
export type SupervisorEvent =
  | { type: 'execution.start'; input: ExecutionInput }
  /** An execution its owner ran itself (not spawned here) crashed: counted like a crashed child. */
  | { type: 'execution.crashed' }
  | { type: 'restart.expired' }
  | { type: 'reset' }
  | { type: 'intensity.exceeded' }
  | { type: `xstate.done.actor.${string}`; output: ExecutionOutput };

/** A number the input must carry (a JavaScript caller may leave it out). */
export function required(value: number, name: string): number {
  if (typeof value !== 'number') throw new TypeError(`supervisor input.${name} must be a number; the machine has no default of its own`);
  return value;
}

/**
 * One crash: a restart of the slot, inside the intensity window until `withinMs` has
 * passed (one delayed `restart.expired` per crash, on the actor's clock); past
 * `maxRestarts` the supervisor escalates. Checked here rather than with an eventless
 * transition, which would be evaluated after every event.
 */
function countCrash(
  context: SupervisorContext,
  enqueue: { assign(values: Partial<SupervisorContext>): void; raise(event: SupervisorEvent, options?: { delay: number }): void },
): void {
  const recentRestarts = context.recentRestarts + 1;
  enqueue.assign({ restarts: context.restarts + 1, recentRestarts });
  enqueue.raise({ type: 'restart.expired' }, { delay: context.withinMs });
  if (recentRestarts > context.maxRestarts) enqueue.raise({ type: 'intensity.exceeded' });
}

/** Reference to an execution actor spawned by a supervisor. */
export type ExecutionActorRef = ActorRefFrom<typeof executionMachine>;

/**
 * A supervisor that owns execution actors (spawned as its children, one per running
 * attempt, stopped when they end) and counts crashes as restarts, with OTP's restart
 * intensity: past `maxRestarts` crashes inside `withinMs` it moves to `escalated`,
 * which its owner reads as "give up and tell the parent". The window is kept with
 * one delayed `restart.expired` per crash on the actor's clock, so a simulated clock
 * drives it in tests. Provide `actors.execution` to inject the execution side effects.
 */
export const supervisorMachine = setup({
  types: {
    input: {} as SupervisorInput,
    context: {} as SupervisorContext,
    events: {} as SupervisorEvent,
  },
  actors: { execution: executionMachine },
}).createMachine({
  id: 'supervisor',
  context: ({ input }) => ({
    name: input.name,
    maxRestarts: required(input.maxRestarts, 'maxRestarts'),
    withinMs: required(input.withinMs, 'withinMs'),
    started: 0,
    restarts: 0,
    recentRestarts: 0,
    running: 0,
  }),
  // Children are owned in every state: an escalated supervisor still lets the
  // attempts already running finish, it only refuses new ones.
  on: {
    'xstate.done.actor.*': {
      actions: enqueueActions(({ context, event, enqueue }) => {
        const output = (event as { output: ExecutionOutput }).output;
        enqueue.stopChild(output.executionId);
        enqueue.assign({ running: context.running - 1 });
        if (output.crashed) countCrash(context, enqueue);
      }),
    },
    'execution.crashed': {
      actions: enqueueActions(({ context, enqueue }) => countCrash(context, enqueue)),
    },
    'restart.expired': {
      actions: assign(({ context }) => ({ recentRestarts: Math.max(0, context.recentRestarts - 1) })),
    },
  },
  initial: 'running',
  states: {
    running: {
      on: {
        'intensity.exceeded': { target: 'escalated' },
        'execution.start': {
          actions: [
            spawnChild('execution', {
              id: ({ event }) => event.input.executionId,
              input: ({ event }) => (event as Extract<SupervisorEvent, { type: 'execution.start' }>).input,
            }),
            assign(({ context }) => ({ started: context.started + 1, running: context.running + 1 })),
          ],
        },
      },
    },
    escalated: {
      on: { reset: { target: 'running', actions: assign({ recentRestarts: 0 }) } },
    },
  },
});
