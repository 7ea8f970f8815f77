import {
  CompiledActor,
  compileMachine,
  executionMachine,
  supervisorMachine,
  treeSupervisorMachine,
  type CompiledAction,
  type ExecutionContext,
  type ExecutionEvent,
  type RestartStrategy,
} from '@steward/actors';
import { createActor, type Actor } from 'xstate';
import type { Clock } from '../time/clock.js';
import type { Logger } from '../model/logger.js';
import type { z } from 'zod';
import type { supervisionSchema } from '../model/schemas.js';

/**
 * Restart intensity of a task type, and how long it rests once quarantined (the
 * shape of the `supervision` option, every field filled in):
 * - `maxRestarts`: crashed executions allowed within `withinMs`; one more quarantines the type.
 * - `withinMs`: the window of the intensity.
 * - `quarantineMs`: how long a quarantined type's tasks wait before it may run again.
 *
 * Defaults: `RUNTIME_DEFAULTS.supervision` ({ maxRestarts: 5, withinMs: 60_000, quarantineMs: 60_000 }).
 */
export type SupervisionPolicy = Required<z.output<typeof supervisionSchema>>;

/**
 * Intensity of the service, executor and root supervisors: past 3 restarts within
 * a minute they give up and escalate. The machines have no default of their own.
 */
export const SERVICE_SUPERVISION_DEFAULTS = Object.freeze({ maxRestarts: 3, withinMs: 60_000 });

/** One node of `rt.supervision()`. */
export interface SupervisionNode {
  name: string;
  kind: 'supervisor' | 'service' | 'executor' | 'task-type';
  state: 'running' | 'escalated' | 'quarantined';
  /** Restarts of this node (for a task type: its crashed executions). */
  restarts: number;
  strategy?: RestartStrategy;
  /** Execution actors alive now (task types). */
  running?: number;
  quarantinedUntil?: number;
  children: SupervisionNode[];
}

/** What the supervision tree does to the runtime when it restarts something. */
export interface SupervisionHooks {
  restartService(name: string): void | Promise<void>;
  restartExecutor(kind: string): void | Promise<void>;
  quarantineEnded(type: string): void;
}

/**
 * The execution machine's transition table, derived once when this module loads:
 * every attempt runs on it (the machine stays the model; a machine the compiler
 * cannot run fails the load with a MachineCompileError).
 */
const EXECUTION = compileMachine(executionMachine);

/** One attempt's execution: a run of the compiled execution machine. */
export type ExecutionRun = CompiledActor<ExecutionContext, ExecutionEvent>;

/** The side effects of an execution (see executionMachine): start the work, stop it, hand over the end. */
export type ExecutionActions = Record<'startAttempt' | 'stopAttempt' | 'settle', CompiledAction<ExecutionContext, ExecutionEvent>>;

type TreeActor = Actor<typeof treeSupervisorMachine>;
type TypeActor = Actor<typeof supervisorMachine>;

interface TypeEntry {
  readonly kind: string;
  readonly policy: SupervisionPolicy;
  readonly actor: TypeActor;
  /** Supervisors of earlier definitions of the type, still counting attempts started under them. */
  readonly retired: TypeEntry[];
  /** The execution side effects, with this supervisor told of each end. */
  readonly actions: ExecutionActions;
  /** Executions started under this supervisor, and running now. */
  started: number;
  running: number;
  quarantinedUntil: number | undefined;
  timer: unknown;
}

const SERVICES = ['journal'] as const;

/**
 * The supervision tree of DESIGN.md, built from the actors package's machines:
 *
 *   root (one-for-one)
 *    |- services (rest-for-one): journal
 *    |- executors (one-for-one): one child per executor kind
 *    |    `- one supervisor per task type, counting its executions' crashes
 *    `- workflows (one-for-one)
 *
 * A task type's supervisor counts crashed executions; past its intensity the type
 * is quarantined for `quarantineMs` instead of burning through its queue. Service
 * and executor failures restart by strategy and escalate upward.
 */
export class Supervision {
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #hooks: SupervisionHooks;
  readonly #execution: ExecutionActions;
  readonly #root: TreeActor;
  readonly #services: TreeActor;
  readonly #executors: TreeActor;
  readonly #workflows: TreeActor;
  readonly #types = new Map<string, TypeEntry>();

  constructor(options: { clock: Clock; logger: Logger; executorKinds: readonly string[]; execution: ExecutionActions; hooks: SupervisionHooks }) {
    this.#clock = options.clock;
    this.#logger = options.logger;
    this.#hooks = options.hooks;
    this.#execution = options.execution;
    const run = (what: string, fn: () => void | Promise<void>) => {
      try {
        void Promise.resolve(fn()).catch((error: unknown) => this.#logger.error(`steward: restarting ${what} failed`, error));
      } catch (error) {
        this.#logger.error(`steward: restarting ${what} failed`, error);
      }
    };
    const tree = (name: string, children: readonly string[], strategy: RestartStrategy, start: (child: string) => void, escalate: () => void) =>
      createActor(
        treeSupervisorMachine.provide({
          actions: {
            startChild: (_a, p) => run(`${name}/${p.child}`, () => start(p.child)),
            escalate: (_a, p) => {
              this.#logger.warn(`steward: supervisor ${name} gave up after ${p.child} kept failing; escalating`);
              escalate();
            },
          },
        }),
        { input: { name, children, strategy, ...SERVICE_SUPERVISION_DEFAULTS }, clock: this.#clock },
      );
    this.#services = tree('services', SERVICES, 'rest-for-one', (child) => this.#hooks.restartService(child), () => this.#root.send({ type: 'child.failed', child: 'services' }));
    this.#executors = tree('executors', options.executorKinds, 'one-for-one', (kind) => this.#hooks.restartExecutor(kind), () => this.#root.send({ type: 'child.failed', child: 'executors' }));
    this.#workflows = tree('workflows', [], 'one-for-one', () => undefined, () => this.#root.send({ type: 'child.failed', child: 'workflows' }));
    this.#root = tree(
      'root',
      ['services', 'executors', 'workflows'],
      'one-for-one',
      (child) => {
        // Restarting a supervisor: it starts over with a clean window and restarts its children.
        const node = child === 'services' ? this.#services : child === 'executors' ? this.#executors : this.#workflows;
        node.send({ type: 'reset' });
        for (const grandchild of node.getSnapshot().context.children) {
          if (child === 'services') run(`services/${grandchild}`, () => this.#hooks.restartService(grandchild));
          if (child === 'executors') run(`executors/${grandchild}`, () => this.#hooks.restartExecutor(grandchild));
        }
      },
      () => this.#logger.error('steward: the root supervisor gave up: services or executors keep failing; the runtime goes on without restarting them'),
    );
    for (const actor of [this.#root, this.#services, this.#executors, this.#workflows]) actor.start();
  }

  /** Registers (or re-registers) a task type under its executor. */
  defineType(type: string, kind: string, policy: SupervisionPolicy): void {
    const existing = this.#types.get(type);
    if (existing !== undefined && existing.kind === kind && samePolicy(existing.policy, policy)) return;
    // A redefinition starts a fresh supervisor; attempts already running finish under the old one.
    const actor = createActor(supervisorMachine, {
      input: { name: `type:${type}`, maxRestarts: policy.maxRestarts, withinMs: policy.withinMs },
      clock: this.#clock,
    });
    actor.start();
    const retired = existing === undefined ? [] : [...existing.retired, existing].filter((old) => old.running > 0);
    const entry: TypeEntry = { kind, policy, actor, retired, actions: this.#actionsFor(() => entry), started: 0, running: 0, quarantinedUntil: existing?.quarantinedUntil, timer: existing?.timer };
    this.#types.set(type, entry);
  }

  /**
   * Makes the execution of an attempt under its type's supervisor, on the compiled
   * execution machine: no actor and no spawn per attempt. The supervisor hears of it
   * only when it crashes. Not started: the caller keeps the run first (a cancel may
   * come from inside the start), then starts it.
   */
  startExecution(type: string, executionId: string, timeoutMs: number): ExecutionRun | undefined {
    const entry = this.#types.get(type);
    if (entry === undefined) return undefined;
    entry.started++;
    entry.running++;
    return new CompiledActor<ExecutionContext, ExecutionEvent>(EXECUTION, entry.actions, { executionId, timeoutMs }, this.#clock);
  }

  /** The side effects given to executions under `entry`: after the end is handed over, its supervisor counts it. */
  #actionsFor(entry: () => TypeEntry): ExecutionActions {
    const { startAttempt, stopAttempt, settle } = this.#execution;
    return {
      startAttempt,
      stopAttempt,
      settle: (args, params) => {
        settle(args, params);
        const owner = entry();
        owner.running--;
        if ((params as { context: ExecutionContext }).context.crashed) owner.actor.send({ type: 'execution.crashed' });
      },
    };
  }

  /** Crashes of a type so far (its supervisor's restarts). */
  restartsOf(type: string): number {
    return this.#types.get(type)?.actor.getSnapshot().context.restarts ?? 0;
  }

  /** Crashed executions across every type. */
  get restarts(): number {
    let total = 0;
    for (const entry of this.#types.values()) total += entry.actor.getSnapshot().context.restarts;
    return total;
  }

  /** True when one more crash of `type` passes its intensity (its supervisor will escalate). */
  wouldQuarantine(type: string): boolean {
    const context = this.#types.get(type)?.actor.getSnapshot().context;
    return context !== undefined && context.recentRestarts + 1 > context.maxRestarts;
  }

  /** Quarantines a type until `quarantineMs` from now; returns when it ends. */
  quarantine(type: string): number {
    const entry = this.#types.get(type);
    if (entry === undefined) return this.#clock.now();
    if (entry.timer !== undefined) this.#clock.clearTimeout(entry.timer);
    const until = this.#clock.now() + entry.policy.quarantineMs;
    entry.quarantinedUntil = until;
    entry.timer = this.#clock.setTimeout(() => {
      entry.timer = undefined;
      entry.quarantinedUntil = undefined;
      // Tasks are let through again with a clean window (a "half-open" start).
      entry.actor.send({ type: 'reset' });
      this.#hooks.quarantineEnded(type);
    }, entry.policy.quarantineMs);
    return until;
  }

  /** When the quarantine of `type` ends, or undefined when it is not quarantined. */
  quarantinedUntil(type: string): number | undefined {
    return this.#types.get(type)?.quarantinedUntil;
  }

  /** A service (the journal) failed: its supervisor restarts it by strategy, or escalates. */
  serviceFailed(name: string, error: unknown): void {
    this.#services.send({ type: 'child.failed', child: name, error });
  }

  /** An executor failed outside any attempt (a pool error): restart by strategy, or escalate. */
  executorFailed(kind: string, error: unknown): void {
    this.#executors.send({ type: 'child.failed', child: kind, error });
  }

  /** The tree as plain data, with each node's state and restart count. */
  view(): SupervisionNode {
    const treeNode = (actor: TreeActor, children: SupervisionNode[]): SupervisionNode => {
      const snapshot = actor.getSnapshot();
      const context = snapshot.context;
      return {
        name: context.name,
        kind: 'supervisor',
        state: snapshot.value === 'escalated' ? 'escalated' : 'running',
        strategy: context.strategy,
        restarts: 0,
        children,
      };
    };
    const leaf = (actor: TreeActor, name: string, kind: 'service' | 'executor', children: SupervisionNode[] = []): SupervisionNode => ({
      name,
      kind,
      state: 'running',
      restarts: actor.getSnapshot().context.restarts[name] ?? 0,
      children,
    });
    const typesOf = (kind: string): SupervisionNode[] =>
      [...this.#types.entries()]
        .filter(([, entry]) => entry.kind === kind)
        .map(([type, entry]) => {
          const snapshot = entry.actor.getSnapshot();
          return {
            name: `type:${type}`,
            kind: 'task-type' as const,
            state: entry.quarantinedUntil !== undefined ? ('quarantined' as const) : ('running' as const),
            restarts: snapshot.context.restarts,
            running: entry.running + entry.retired.reduce((sum, old) => sum + old.running, 0),
            ...(entry.quarantinedUntil === undefined ? {} : { quarantinedUntil: entry.quarantinedUntil }),
            children: [],
          };
        });
    const root = treeNode(this.#root, [
      treeNode(this.#services, SERVICES.map((name) => leaf(this.#services, name, 'service'))),
      treeNode(
        this.#executors,
        this.#executors.getSnapshot().context.children.map((kind) => leaf(this.#executors, kind, 'executor', typesOf(kind))),
      ),
      treeNode(this.#workflows, []),
    ]);
    const rootRestarts = this.#root.getSnapshot().context.restarts;
    for (const child of root.children) child.restarts = rootRestarts[child.name] ?? 0;
    return root;
  }

  /** Stops every supervisor and every quarantine timer. */
  stop(): void {
    for (const entry of this.#types.values()) {
      if (entry.timer !== undefined) this.#clock.clearTimeout(entry.timer);
      entry.actor.stop();
      for (const old of entry.retired) old.actor.stop();
    }
    for (const actor of [this.#workflows, this.#executors, this.#services, this.#root]) actor.stop();
  }
}

function samePolicy(a: SupervisionPolicy, b: SupervisionPolicy): boolean {
  return a.maxRestarts === b.maxRestarts && a.withinMs === b.withinMs && a.quarantineMs === b.quarantineMs;
}
