import {
  supervisorMachine,
  treeSupervisorMachine,
  type ExecutionActorRef,
  type RestartStrategy,
  type executionMachine,
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

type TreeActor = Actor<typeof treeSupervisorMachine>;
type TypeActor = Actor<typeof supervisorMachine>;

interface TypeEntry {
  readonly kind: string;
  readonly policy: SupervisionPolicy;
  readonly actor: TypeActor;
  /** Supervisors of earlier definitions of the type, still owning attempts started under them. */
  readonly retired: TypeActor[];
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
 *    |    `- one supervisor per task type, owning its execution actors
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
  readonly #execution: typeof executionMachine;
  readonly #root: TreeActor;
  readonly #services: TreeActor;
  readonly #executors: TreeActor;
  readonly #workflows: TreeActor;
  readonly #types = new Map<string, TypeEntry>();

  constructor(options: { clock: Clock; logger: Logger; executorKinds: readonly string[]; execution: typeof executionMachine; hooks: SupervisionHooks }) {
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
    const actor = createActor(supervisorMachine.provide({ actors: { execution: this.#execution } }), {
      input: { name: `type:${type}`, maxRestarts: policy.maxRestarts, withinMs: policy.withinMs },
      clock: this.#clock,
    });
    actor.start();
    const retired = existing === undefined ? [] : [...existing.retired, existing.actor].filter((old) => old.getSnapshot().context.running > 0);
    this.#types.set(type, { kind, policy, actor, retired, quarantinedUntil: existing?.quarantinedUntil, timer: existing?.timer });
  }

  /** Starts an execution actor for `executionId` under its type's supervisor. */
  startExecution(type: string, executionId: string, timeoutMs: number): ExecutionActorRef | undefined {
    const entry = this.#types.get(type);
    if (entry === undefined) return undefined;
    entry.actor.send({ type: 'execution.start', input: { executionId, timeoutMs } });
    return entry.actor.getSnapshot().children[executionId] as ExecutionActorRef | undefined;
  }

  /** The execution actor of a running attempt. */
  executionOf(type: string, executionId: string): ExecutionActorRef | undefined {
    const entry = this.#types.get(type);
    if (entry === undefined) return undefined;
    for (const actor of [entry.actor, ...entry.retired]) {
      const child = actor.getSnapshot().children[executionId] as ExecutionActorRef | undefined;
      if (child !== undefined) return child;
    }
    return undefined;
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
            running: snapshot.context.running,
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
      for (const old of entry.retired) old.stop();
    }
    for (const actor of [this.#workflows, this.#executors, this.#services, this.#root]) actor.stop();
  }
}

function samePolicy(a: SupervisionPolicy, b: SupervisionPolicy): boolean {
  return a.maxRestarts === b.maxRestarts && a.withinMs === b.withinMs && a.quarantineMs === b.quarantineMs;
}
