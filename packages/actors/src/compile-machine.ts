import type { AnyStateMachine } from 'xstate';

/** What an action, guard or delay gets, as XState hands it. */
export interface CompiledArgs<TContext, TEvent> {
  readonly context: TContext;
  readonly event: TEvent;
}

/** An injected action of the compiled machine: the same signature as an XState action given with `provide`. */
export type CompiledAction<TContext, TEvent> = (args: CompiledArgs<TContext, TEvent>, params: unknown) => void;

/** One named action of an entry list, with the function that computes its params. */
interface NamedAction {
  readonly type: string;
  readonly params: ((args: CompiledArgs<unknown, unknown>) => unknown) | undefined;
}

/** One key of an `assign({...})`: a value or a function of context and event. */
interface Assignment {
  readonly key: string;
  readonly value: unknown;
  readonly computed: boolean;
}

/** A transition of the table: where it goes, under which guard, with which assignments. */
export interface CompiledTransition {
  readonly target: string;
  readonly guard: string | undefined;
  readonly assignments: readonly Assignment[];
}

/** A state of the table. */
export interface CompiledState {
  readonly key: string;
  readonly final: boolean;
  readonly entry: readonly NamedAction[];
  /** By event type. */
  readonly on: ReadonlyMap<string, CompiledTransition>;
  /** Delayed transitions: after the named delay, this event is raised (`xstate.after.*`). */
  readonly after: ReadonlyArray<{ readonly delay: string; readonly eventType: string }>;
}

/** A machine compiled to a transition table: state × event → target and actions, and its delayed transitions. */
export interface CompiledMachine {
  readonly id: string;
  readonly initial: string;
  readonly states: ReadonlyMap<string, CompiledState>;
  readonly createContext: (input: unknown) => unknown;
  readonly output: ((args: { context: unknown }) => unknown) | undefined;
  readonly guards: Readonly<Record<string, (args: CompiledArgs<unknown, unknown>) => boolean>>;
  readonly delays: Readonly<Record<string, (args: CompiledArgs<unknown, unknown>) => number>>;
}

/** A machine the compiler cannot run: it uses something the table does not model. */
export class MachineCompileError extends Error {
  constructor(machineId: string, what: string) {
    super(`machine "${machineId}" cannot be compiled to a transition table: ${what}`);
    this.name = 'MachineCompileError';
  }
}

const RAISE = 'xstate.raise';
const CANCEL = 'xstate.cancel';
const ASSIGN = 'xstate.assign';

type RawAction = { type?: unknown; params?: unknown; assignment?: unknown; event?: unknown } & ((...args: unknown[]) => unknown);

/**
 * Derives the transition table of a flat machine at load time: for each state, its
 * entry actions (named, with their params), its event transitions (one target, an
 * optional named guard, `assign` with an object), and its delayed transitions (a
 * named delay). Anything else (nested or parallel states, invoked or spawned actors,
 * `always`, exit actions of its own, inline action functions, several candidate
 * transitions for one event) is refused with a MachineCompileError, so a machine the
 * table cannot run is never run wrong. The machine stays the model: change it and
 * the table follows.
 */
export function compileMachine(machine: AnyStateMachine): CompiledMachine {
  const id = machine.id;
  const refuse = (what: string): never => {
    throw new MachineCompileError(id, what);
  };
  const root = machine.root;
  if (root.type !== 'compound') refuse(`its root is ${root.type}, not a set of states`);
  if (root.entry.length > 0 || root.exit.length > 0) refuse('its root has entry or exit actions');
  if (root.transitions.size > 0) refuse('its root handles events itself');
  const states = new Map<string, CompiledState>();
  for (const [key, node] of Object.entries(root.states)) {
    if (node.type !== 'atomic' && node.type !== 'final') refuse(`state "${key}" is ${node.type}`);
    if (node.invoke.length > 0) refuse(`state "${key}" invokes an actor`);
    if (node.always !== undefined && node.always.length > 0) refuse(`state "${key}" has eventless transitions`);
    const after = node.after.map((t) => {
      if (typeof t.delay !== 'string') refuse(`state "${key}" has a delay that is not named`);
      return { delay: t.delay as string, eventType: t.eventType };
    });
    const delayed = new Set(after.map((a) => a.eventType));
    const entry: NamedAction[] = [];
    for (const action of node.entry as RawAction[]) {
      // The raise of a delayed transition's event: the table arms it from `after`.
      if (typeof action === 'function' && action.type === RAISE) continue;
      entry.push(named(action, `the entry of state "${key}"`, refuse));
    }
    for (const action of node.exit as RawAction[]) {
      // Only the cancel of its own delayed events (what `after` adds); the runner clears them on leaving.
      if (!(typeof action === 'function' && action.type === CANCEL)) refuse(`state "${key}" has exit actions`);
    }
    const on = new Map<string, CompiledTransition>();
    for (const [eventType, candidates] of node.transitions) {
      if (candidates.length !== 1) refuse(`state "${key}" has ${candidates.length} transitions for "${eventType}"`);
      const t = candidates[0] as (typeof candidates)[number];
      const targets = t.target ?? [];
      if (targets.length !== 1 || targets[0]?.parent !== root) refuse(`the transition of "${key}" on "${eventType}" does not go to one sibling state`);
      if (t.guard !== undefined && typeof t.guard !== 'string') refuse(`the guard of "${key}" on "${eventType}" is not named`);
      const assignments: Assignment[] = [];
      for (const action of t.actions as RawAction[]) {
        if (!(typeof action === 'function' && action.type === ASSIGN && typeof action.assignment === 'object' && action.assignment !== null)) {
          refuse(`the transition of "${key}" on "${eventType}" has an action other than assign({...})`);
        }
        for (const [k, v] of Object.entries(action.assignment as Record<string, unknown>)) assignments.push({ key: k, value: v, computed: typeof v === 'function' });
      }
      if (eventType.startsWith('xstate.') && !delayed.has(eventType)) refuse(`state "${key}" handles the internal event "${eventType}"`);
      on.set(eventType, { target: (targets[0] as { key: string }).key, guard: t.guard as string | undefined, assignments });
    }
    states.set(key, { key, final: node.type === 'final', entry, on, after });
  }
  const initial = root.initial?.target?.[0]?.key;
  if (initial === undefined || !states.has(initial)) refuse('it has no initial state');
  const config = machine.config as { context?: unknown; output?: unknown };
  const context = config.context;
  const createContext = typeof context === 'function' ? (input: unknown) => (context as (a: { input: unknown }) => unknown)({ input }) : () => structuredClone(context ?? {});
  const impl = machine.implementations as { guards: Record<string, unknown>; delays: Record<string, unknown> };
  for (const state of states.values()) {
    for (const t of state.on.values()) if (t.guard !== undefined && typeof impl.guards[t.guard] !== 'function') refuse(`guard "${t.guard}" names no function in the machine's setup`);
    for (const a of state.after) if (typeof impl.delays[a.delay] !== 'function') refuse(`delay "${a.delay}" names no function in the machine's setup`);
  }
  return {
    id,
    initial: initial as string,
    states,
    createContext,
    output: typeof config.output === 'function' ? (config.output as (args: { context: unknown }) => unknown) : undefined,
    guards: impl.guards as CompiledMachine['guards'],
    delays: impl.delays as CompiledMachine['delays'],
  };
}

function named(action: RawAction | { type?: unknown; params?: unknown } | string, where: string, refuse: (what: string) => never): NamedAction {
  if (typeof action === 'string') return { type: action, params: undefined };
  if (typeof action === 'object' && action !== null && typeof action.type === 'string') {
    const params = action.params;
    if (params !== undefined && typeof params !== 'function') return { type: action.type, params: () => params };
    return { type: action.type, params: params as NamedAction['params'] };
  }
  return refuse(`${where} has an action that is not named (${typeof action === 'function' ? String(action.type ?? 'a function') : typeof action})`);
}
