import type { JournalRecord } from '../journal/journal-record.js';
import type { OutputChunk } from '../model/types.js';
import type { GateClaim, HoldAnswer, RateChange, RateClaim } from './lease-table.js';

/** An output chunk as the shared store keeps it: numbered per task, from 1, over every node that ran it. */
export type NumberedChunk = OutputChunk & { readonly n: number };

/** A task as the claim queue holds it. */
export interface EnqueuedTask {
  readonly id: string;
  readonly type: string;
  readonly priority: number;
}

/** A message for every node of the cluster: stop a task wherever it runs, or how far a running task has come. */
export type ControlMessage =
  | { readonly kind: 'cancel'; readonly taskId: string; readonly reason?: string }
  /** A running task's progress, from the node that runs it (progress is not journaled). */
  | { readonly kind: 'progress'; readonly taskId: string; readonly percent: number; readonly message?: string; readonly at: number }
  /** A node let go of cluster locks or keys: whoever waits for them asks again. */
  | { readonly kind: 'freed' }
  /** Output of a running task, stored as chunks `first`, `first + 1`...: every node tells its followers. */
  | { readonly kind: 'output'; readonly taskId: string; readonly first: number; readonly chunks: readonly OutputChunk[] };

/**
 * What a shared store must offer for the cluster transport: a journal every node
 * appends to and follows (where task state lives), a claim queue (how a ready task is
 * claimed: by a node that defines its type and has room, by priority, and by another
 * node when the one that claimed it dies), key reservations and a control channel.
 * `bullmqTransport` of `@steward/adapters` implements it on Redis and BullMQ; the
 * tests have one in memory.
 */
export interface ClusterBackend {
  /** This node's name in the cluster (shown with the tasks it runs). */
  readonly nodeId: string;
  /** Appends records to the shared journal; resolves once the store has them. Appends keep the order of the calls, also while earlier ones are still on their way. */
  append(records: readonly JournalRecord[]): Promise<void>;
  /**
   * Hands every record of the shared journal to `apply`, in journal order: what is there
   * now, then what any node appends from now on. Resolves once the records there now are applied.
   */
  follow(apply: (records: readonly JournalRecord[]) => void): Promise<void>;
  /** Resolves once every record appended anywhere before the call has been applied here. */
  caughtUp(): Promise<void>;
  /** Reserves idempotency key `key` for task `id`; resolves with the id that holds it (`id`, or the one that had it first). */
  reserve(key: string, id: string): Promise<string>;
  /**
   * Makes tasks claimable by the nodes that define their types; a higher `priority` is
   * claimed first. A task already in the queue (or held by a claim) stays as it is.
   */
  enqueue(tasks: readonly EnqueuedTask[]): Promise<void>;
  /** Takes a task out of the claim queue if no node holds it; true when it did. */
  dequeue(id: string, type: string): Promise<boolean>;
  /**
   * Claims tasks of `type` and runs each with `run`; the claim is released when `run`
   * settles (a rejection hands the task to another claim). This node holds at most
   * `concurrency` claims at once over every type it consumes, so it claims only when it
   * has room and the rest wait in the shared queue, by priority. A claim whose node
   * stops answering is handed to another node after the stall interval. `released`
   * is told of each claim once the store has let it go (the task can be enqueued again).
   */
  consume(type: string, concurrency: number, run: (id: string) => Promise<void>, released?: (id: string) => void): Promise<void>;
  /** At most `concurrency` tasks of `type` run at once over the whole cluster (a type's `concurrency`); the last node to say so sets it. */
  limitType(type: string, concurrency: number): Promise<void>;
  /**
   * How long a hold lasts unrenewed, in ms: a node that dies lets go of its locks and
   * keys this long after its last renewal (the stall interval).
   */
  readonly leaseMs: number;
  /**
   * Takes every claim for `owner` at once, or none (see `LeaseTable`, whose rules the
   * store follows): locks and keys under a lease of `leaseMs`, rate starts for good.
   */
  hold(owner: string, claims: readonly GateClaim[]): Promise<HoldAnswer>;
  /** Renews `owner`'s leases; false when one had run out first. */
  renew(owner: string, claims: readonly GateClaim[]): Promise<boolean>;
  /** Lets go of `owner`'s locks and keys. */
  letGo(owner: string, claims: readonly GateClaim[]): Promise<void>;
  /** Changes a rate bucket's window after the fact: a usage report, or a pause (see `LeaseTable.adjustRate`). */
  adjustRate(claim: RateClaim, change: RateChange): Promise<void>;
  /**
   * Adds output chunks of a task, numbered on from the last one stored for it (from 1),
   * and drops the oldest while the task's chunks hold more than `maxBytes` of data;
   * resolves with the number of the first chunk added. Appends and output writes of one
   * node keep their order.
   */
  appendOutput(taskId: string, chunks: readonly OutputChunk[], maxBytes: number): Promise<number>;
  /** The output chunks kept for a task, oldest first. */
  readOutput(taskId: string): Promise<NumberedChunk[]>;
  /** Sends `message` to every node, this one included. */
  broadcast(message: ControlMessage): Promise<void>;
  onControl(listener: (message: ControlMessage) => void): void;
  /** Stops claiming, lets claimed work settle, and closes the connections. */
  close(): Promise<void>;
}
