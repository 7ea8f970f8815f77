import { assign, enqueueActions, not, setup } from 'xstate';
import { required } from './supervisor-machine.js';

/** Which children restart when one fails (OTP's strategies). */
export type RestartStrategy = 'one-for-one' | 'one-for-all' | 'rest-for-one';

/** Input of a tree supervisor: its name, children in start order, strategy and intensity. */
export interface TreeSupervisorInput {
  readonly name: string;
  /** Child names, in start order (rest-for-one restarts the failed child and those after it). */
  readonly children: readonly string[];
  /** @defaultValue 'one-for-one' */
  readonly strategy?: RestartStrategy;
  /** At most this many restarts within `withinMs`; one more escalates. Required: the owner's policy is the only one. */
  readonly maxRestarts: number;
  readonly withinMs: number;
}

/** Context of a tree supervisor. */
export interface TreeSupervisorContext {
  readonly name: string;
  readonly children: readonly string[];
  readonly strategy: RestartStrategy;
  readonly maxRestarts: number;
  readonly withinMs: number;
  /** Restarts of each child over the supervisor's life. */
  restarts: Record<string, number>;
  /** Restarts still inside the intensity window. */
  recentRestarts: number;
  /** The child whose failure made it give up, once escalated. */
  failedChild?: string;
}

/** Events a tree supervisor accepts. */
export type TreeSupervisorEvent =
  | { type: 'child.failed'; child: string; error?: unknown }
  | { type: 'restart.expired' }
  | { type: 'reset' };

/** Which children restart, in start order, when `failed` fails. */
export function childrenToRestart(strategy: RestartStrategy, children: readonly string[], failed: string): string[] {
  const index = children.indexOf(failed);
  if (index === -1) return [];
  if (strategy === 'one-for-one') return [failed];
  if (strategy === 'one-for-all') return [...children];
  return children.slice(index);
}

/**
 * An OTP-style supervisor of named children (services, executors, other
 * supervisors). When a child fails it restarts, by its strategy, that child, all
 * children, or that child and the ones started after it: `stopChild` for each in
 * reverse start order, then `startChild` for each in start order. Past
 * `maxRestarts` restarts within `withinMs` it gives up: it moves to `escalated`
 * and runs `escalate`, which its owner turns into a `child.failed` of the parent.
 * Side effects are injected with `provide`; the window runs on the actor's clock.
 */
export const treeSupervisorMachine = setup({
  types: {
    input: {} as TreeSupervisorInput,
    context: {} as TreeSupervisorContext,
    events: {} as TreeSupervisorEvent,
  },
  actions: {
    stopChild: (_args, _params: { supervisor: string; child: string }) => {},
    startChild: (_args, _params: { supervisor: string; child: string }) => {},
    escalate: (_args, _params: { supervisor: string; child: string; error: unknown }) => {},
  },
  guards: {
    knownChild: ({ context, event }) => event.type === 'child.failed' && context.children.includes(event.child),
    intensityExceeded: ({ context }) => context.recentRestarts + 1 > context.maxRestarts,
  },
}).createMachine({
  id: 'treeSupervisor',
  context: ({ input }) => ({
    name: input.name,
    children: [...input.children],
    strategy: input.strategy ?? 'one-for-one',
    maxRestarts: required(input.maxRestarts, 'maxRestarts'),
    withinMs: required(input.withinMs, 'withinMs'),
    restarts: Object.fromEntries(input.children.map((child) => [child, 0])),
    recentRestarts: 0,
  }),
  on: {
    'restart.expired': {
      actions: assign(({ context }) => ({ recentRestarts: Math.max(0, context.recentRestarts - 1) })),
    },
  },
  initial: 'running',
  states: {
    running: {
      on: {
        'child.failed': [
          { guard: not('knownChild') },
          {
            guard: 'intensityExceeded',
            target: 'escalated',
            actions: [
              assign({ failedChild: ({ event }) => event.child }),
              {
                type: 'escalate',
                params: ({ context, event }) => ({ supervisor: context.name, child: event.child, error: event.error }),
              },
            ],
          },
          {
            actions: enqueueActions(({ context, event, enqueue }) => {
              const restart = childrenToRestart(context.strategy, context.children, event.child);
              // Stopped in reverse start order, started again in start order, as OTP does.
              for (const child of [...restart].reverse()) enqueue({ type: 'stopChild', params: { supervisor: context.name, child } });
              for (const child of restart) enqueue({ type: 'startChild', params: { supervisor: context.name, child } });
              const restarts = { ...context.restarts };
              for (const child of restart) restarts[child] = (restarts[child] ?? 0) + 1;
              enqueue.assign({ restarts, recentRestarts: context.recentRestarts + 1 });
              enqueue.raise({ type: 'restart.expired' }, { delay: context.withinMs });
            }),
          },
        ],
      },
    },
    escalated: {
      on: { reset: { target: 'running', actions: assign({ recentRestarts: 0, failedChild: undefined }) } },
    },
  },
});
