import type { RemoteGate } from '../coordination/remote-gate.js';
import type { EngineView } from '../engine/engine-view.js';
import type { ResolvedRuntimeOptions } from '../model/options.js';
import type { JournalRecord } from '../journal/journal-record.js';
import type { SubmitOptions } from '../model/submit-options.js';
import type { TaskOutcome } from '../model/types.js';
import type { WaitResult } from '../model/waits.js';

/** A task a transport hands this node to run: the cluster's id and what its record says. */
export interface ClaimedTask {
  readonly id: string;
  readonly type: string;
  readonly input: unknown;
  readonly options: Pick<SubmitOptions, 'priority' | 'timeoutMs' | 'retries' | 'metadata' | 'concurrencyKey' | 'locks' | 'rateLimit' | 'budget' | 'lockTimeoutMs'>;
  /** Results of the durable steps recorded so far, on any node: they do not run again. */
  readonly steps: Readonly<Record<string, unknown>>;
  /** How its durable waits have ended so far, by wait key: a run meets them again with these results. */
  readonly waits?: Readonly<Record<string, readonly WaitResult[]>>;
  /** Signals sent to it that no wait has taken yet. */
  readonly signals?: ReadonlyArray<{ readonly name: string; readonly payload: unknown }>;
  /** Units of rate buckets its attempts have used so far, on any node (what its `budget` counts). */
  readonly usage?: Readonly<Record<string, number>>;
  /** Results of the dependencies it waited for (they ran on any node): its `ctx.dependencies`. */
  readonly dependencies?: Readonly<Record<string, unknown>>;
}

/** What a node offers its transport: its own engine, which runs what the node claims. */
export interface TransportNode {
  /** The node's own engine: its definitions, executors, supervision, admission and figures. */
  readonly engine: EngineView;
  /**
   * Runs a claimed task on this node's engine under the cluster's id, its steps and
   * waits already recorded; resolves with how it ended here, or with 'suspended' once
   * it has parked itself on a durable wait (the node lets go of it: the wait goes on in
   * the cluster). A task this node already has (claimed again after a stall) is not
   * started twice: its run here is awaited.
   */
  run(task: ClaimedTask): Promise<TaskOutcome | 'suspended'>;
  /** Every record the node's engine journals, as it commits it, in order. */
  onRecord(listener: (record: JournalRecord) => void): void;
  /** From now on the node's engine takes the locks, keys and buckets its tasks declare from `gate` (the cluster's). */
  admitThrough(gate: RemoteGate): void;
  /** The schedules of the runtime options: the cluster's to fire (the node's engine has none of its own). */
  readonly schedules: ResolvedRuntimeOptions['schedules'];
}

/**
 * Where task state lives and how a ready task is claimed. The local transport (the
 * default) keeps both in this process: the journal is the record and the ready queue
 * hands out the work, so the node's engine is the runtime. A cluster transport keeps
 * them in a shared store and hands each node the tasks it claims (see clusterTransport).
 */
export interface Transport {
  readonly kind: string;
  /** Joins with `node`; resolves with the engine the runtime's facade reads and commands. */
  connect(node: TransportNode): Promise<EngineView>;
}

/** The local transport: this process's journal and ready queue. */
export function localTransport(): Transport {
  return { kind: 'local', connect: async (node) => node.engine };
}
