import { assign, setup } from 'xstate';

/** The largest delay Node's timers accept (about 24.8 days). */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * How one attempt ended: exactly one of these, once. `suspended`: the work parked
 * itself on a durable wait; the attempt is over without an outcome and the owner
 * resumes the work later (see `attempt.suspended`). `interrupted`: the executor
 * stopped the work for a reason not of its own (see `attempt.interrupted`).
 */
export type ExecutionEnd = 'completed' | 'failed' | 'timed_out' | 'cancelled' | 'suspended' | 'interrupted';

/** Input of an execution actor: which attempt it drives and its deadline. */
export interface ExecutionInput {
  /** Identifies the attempt to the injected side effects (core uses the task id). */
  readonly executionId: string;
  /** Deadline of the attempt from its start; 0 or absent means none. */
  readonly timeoutMs?: number;
}

/** The context an execution actor carries, handed to every injected side effect. */
export interface ExecutionContext {
  readonly executionId: string;
  readonly timeoutMs: number;
  result?: unknown;
  error?: unknown;
  /** True when the executor itself died (not the handler throwing). */
  crashed: boolean;
  reason?: string;
  /** What the work waits for, when it suspended itself (opaque to the machine). */
  waitingFor?: unknown;
  /** Set by the transition into a final state. */
  end?: ExecutionEnd;
}

/** Events an execution actor accepts: reports from the executor, and cancel from outside. */
export type ExecutionEvent =
  | { type: 'attempt.succeeded'; result: unknown }
  | { type: 'attempt.failed'; error: unknown }
  | { type: 'attempt.crashed'; error: unknown }
  /** The work parked itself on a durable wait: the attempt ends, nothing is stopped (the work has stopped on its own). */
  | { type: 'attempt.suspended'; waitingFor: unknown }
  /**
   * The executor stopped the work because of another attempt sharing what ran it (a
   * batch on one worker thread whose other task timed out, was cancelled or crashed
   * the thread): the attempt ends without an outcome and the owner runs it again.
   */
  | { type: 'attempt.interrupted'; reason: string }
  | { type: 'cancel'; reason?: string };

/** What the actor outputs when it is done (also what its supervisor sees). */
export interface ExecutionOutput {
  readonly executionId: string;
  readonly end: ExecutionEnd;
  readonly crashed: boolean;
}

/**
 * The lifecycle of one attempt. Side effects are injected with `provide`:
 * - `startAttempt`: start the work (the executor reports back with events);
 * - `stopAttempt`: stop the work for real (terminate the thread, kill the group, abort);
 * - `settle`: hand the single end to the owner, with `params.end`.
 * Final states ignore every later event, which is what makes the end unique:
 * a result that arrives after a timeout is dropped here, not in the caller.
 */
export const executionMachine = setup({
  types: {
    input: {} as ExecutionInput,
    context: {} as ExecutionContext,
    events: {} as ExecutionEvent,
    output: {} as ExecutionOutput,
  },
  actions: {
    startAttempt: (_args, _params: { executionId: string }) => {},
    stopAttempt: (_args, _params: { executionId: string; end: ExecutionEnd }) => {},
    settle: (_args, _params: { end: ExecutionEnd; context: ExecutionContext }) => {},
  },
  guards: {
    hasDeadline: ({ context }) => context.timeoutMs > 0,
  },
  delays: {
    // Without a deadline the timer is parked at the largest delay timers accept and
    // its guard refuses it; a flat machine is much cheaper per attempt than one
    // that branches into "bounded" and "unbounded" substates.
    attemptTimeout: ({ context }) => (context.timeoutMs > 0 ? context.timeoutMs : MAX_TIMER_MS),
  },
}).createMachine({
  id: 'execution',
  context: ({ input }) => ({
    executionId: input.executionId,
    timeoutMs: input.timeoutMs !== undefined && Number.isFinite(input.timeoutMs) ? Math.max(0, input.timeoutMs) : 0,
    crashed: false,
  }),
  initial: 'running',
  states: {
    running: {
      entry: { type: 'startAttempt', params: ({ context }) => ({ executionId: context.executionId }) },
      after: {
        attemptTimeout: { guard: 'hasDeadline', target: 'timedOut', actions: assign({ end: 'timed_out' as const }) },
      },
      on: {
        'attempt.succeeded': {
          target: 'completed',
          actions: assign({ result: ({ event }) => event.result, end: 'completed' as const }),
        },
        'attempt.failed': {
          target: 'failed',
          actions: assign({ error: ({ event }) => event.error, end: 'failed' as const }),
        },
        'attempt.crashed': {
          target: 'failed',
          actions: assign({ error: ({ event }) => event.error, crashed: true, end: 'failed' as const }),
        },
        'attempt.suspended': {
          target: 'suspended',
          actions: assign({ waitingFor: ({ event }) => event.waitingFor, end: 'suspended' as const }),
        },
        'attempt.interrupted': {
          target: 'interrupted',
          actions: assign({ reason: ({ event }) => event.reason, end: 'interrupted' as const }),
        },
        cancel: {
          target: 'cancelled',
          actions: assign({ reason: ({ event }) => event.reason, end: 'cancelled' as const }),
        },
      },
    },
    completed: {
      type: 'final',
      entry: { type: 'settle', params: ({ context }) => ({ end: 'completed' as const, context }) },
    },
    failed: {
      type: 'final',
      entry: { type: 'settle', params: ({ context }) => ({ end: 'failed' as const, context }) },
    },
    suspended: {
      type: 'final',
      entry: { type: 'settle', params: ({ context }) => ({ end: 'suspended' as const, context }) },
    },
    // Nothing to stop: the executor already stopped the work that interrupted it.
    interrupted: {
      type: 'final',
      entry: { type: 'settle', params: ({ context }) => ({ end: 'interrupted' as const, context }) },
    },
    timedOut: {
      type: 'final',
      entry: [
        { type: 'stopAttempt', params: ({ context }) => ({ executionId: context.executionId, end: 'timed_out' as const }) },
        { type: 'settle', params: ({ context }) => ({ end: 'timed_out' as const, context }) },
      ],
    },
    cancelled: {
      type: 'final',
      entry: [
        { type: 'stopAttempt', params: ({ context }) => ({ executionId: context.executionId, end: 'cancelled' as const }) },
        { type: 'settle', params: ({ context }) => ({ end: 'cancelled' as const, context }) },
      ],
    },
  },
  output: ({ context }) => ({
    executionId: context.executionId,
    end: context.end ?? 'failed',
    crashed: context.crashed,
  }),
});
