import type { RuntimeEvent } from '../events/events.js';
import type { Logger } from '../model/logger.js';
import { isTerminal, type OutputChunk } from '../model/types.js';
import type { ClusterBackend, ControlMessage, NumberedChunk } from './cluster-backend.js';
import type { ClusterReplica } from './cluster-replica.js';

/**
 * Task output and progress in cluster mode (progress: the latest of a turn per task, to
 * every node, not kept). Output: the node that runs a task writes its output to the shared
 * store once per turn (`ClusterBackend.appendOutput`, bounded per task by
 * `maxOutputBytes`, oldest chunks dropped first) and then tells every node (a control
 * message), which turns it into `task:output` events. `follow` reads the store and then
 * what comes live, by chunk number, so a node sees the output of every task of the
 * cluster, whichever node runs it.
 */
export class ClusterOutput {
  readonly #backend: ClusterBackend;
  readonly #replica: ClusterReplica;
  readonly #maxBytes: number;
  readonly #logger: Logger;
  #pending = new Map<string, OutputChunk[]>();
  #scheduled = false;
  /** Followers on this node, by task: each is handed the live chunks. */
  readonly #followers = new Map<string, Set<(chunks: readonly NumberedChunk[]) => void>>();
  readonly #progress = new Map<string, ControlMessage & { kind: 'progress' }>();
  /** Writes on their way to the store. */
  readonly #writing = new Set<Promise<void>>();

  constructor(host: { backend: ClusterBackend; replica: ClusterReplica; maxBytes: number; logger: Logger }) {
    this.#backend = host.backend;
    this.#replica = host.replica;
    this.#maxBytes = host.maxBytes;
    this.#logger = host.logger;
  }

  /** Output of a task this node runs: written with the others of its turn. */
  capture(event: RuntimeEvent & { type: 'task:output' }): void {
    let chunks = this.#pending.get(event.taskId);
    if (chunks === undefined) this.#pending.set(event.taskId, (chunks = []));
    chunks.push({ stream: event.stream, data: event.data, at: event.at });
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /**
   * Writes what was captured. Called before the node's records of the same turn are
   * appended (on the same connection, so in that order): a task's output is in the store
   * before the record that ends it.
   */
  flush(): void {
    this.#scheduled = false;
    if (this.#pending.size === 0) return;
    const batch = this.#pending;
    this.#pending = new Map();
    for (const [taskId, chunks] of batch) {
      const written = this.#backend.appendOutput(taskId, chunks, this.#maxBytes).then(
        (first) => this.#backend.broadcast({ kind: 'output', taskId, first, chunks }),
        (error: unknown) => this.#logger.warn(`steward: could not store the output of task "${taskId}"`, error),
      );
      const tracked = written.catch(() => undefined).finally(() => this.#writing.delete(tracked));
      this.#writing.add(tracked);
    }
  }

  /** A claimed task's progress, told to every node; the latest of a turn only, per task. */
  progress(event: RuntimeEvent & { type: 'task:progress' }): void {
    if (this.#progress.size === 0) {
      setImmediate(() => {
        for (const message of this.#progress.values()) this.#backend.broadcast(message).catch(() => undefined); // progress is not kept: a lost one is passed by the next
        this.#progress.clear();
      });
    }
    const { taskId, percent, message, at } = event;
    this.#progress.set(taskId, message === undefined ? { kind: 'progress', taskId, percent, at } : { kind: 'progress', taskId, percent, message, at });
  }

  /** Resolves once every write on its way is in the store. */
  async settled(): Promise<void> {
    await Promise.all(this.#writing);
  }

  /** Output told by the node that runs the task: events here, and to this node's followers. */
  received(taskId: string, first: number, chunks: readonly OutputChunk[]): void {
    const numbered = chunks.map((chunk, i) => ({ ...chunk, n: first + i }));
    for (const chunk of chunks) this.#replica.emit({ type: 'task:output', taskId, stream: chunk.stream, data: chunk.data, at: chunk.at });
    for (const follower of this.#followers.get(taskId) ?? []) follower(numbered);
  }

  /** The task's output kept in the store; with `follow`, then what comes, until the task ends. */
  follow(taskId: string, follow: boolean, open: () => boolean): AsyncIterable<OutputChunk> {
    return {
      [Symbol.asyncIterator]: () => this.#iterate(taskId, follow, open),
    };
  }

  async *#iterate(taskId: string, follow: boolean, open: () => boolean): AsyncGenerator<OutputChunk> {
    const live: NumberedChunk[] = [];
    let wake: (() => void) | undefined;
    const follower = (chunks: readonly NumberedChunk[]) => {
      live.push(...chunks);
      wake?.();
    };
    const ended = () => isTerminal(this.#replica.table.tasks.get(taskId)?.status ?? 'completed');
    let closed = false;
    // Told of the task's end too, so that a follower stops when it does, and of the runtime's.
    const subscription = follow
      ? this.#replica.events$.subscribe({
          next: (event) => event.taskId === taskId && wake?.(),
          complete: () => {
            closed = true;
            wake?.();
          },
        })
      : undefined;
    /** What the store holds past `last`, in order. */
    const stored = async function* (backend: ClusterBackend): AsyncGenerator<NumberedChunk> {
      for (const chunk of await backend.readOutput(taskId)) if (chunk.n > last) yield chunk;
    };
    let followers = this.#followers.get(taskId);
    if (followers === undefined) this.#followers.set(taskId, (followers = new Set()));
    followers.add(follower);
    let last = 0;
    try {
      // Listening first, then reading: nothing written between the two is missed, and a chunk read is not yielded again.
      for await (const chunk of stored(this.#backend)) {
        last = chunk.n;
        yield { stream: chunk.stream, data: chunk.data, at: chunk.at };
      }
      if (!follow) return;
      for (;;) {
        while (live.length > 0) {
          const chunk = live.shift() as NumberedChunk;
          if (chunk.n <= last) continue;
          // A message lost on the way (a reconnect): what was missed is in the store.
          if (chunk.n > last + 1) {
            for await (const missed of stored(this.#backend)) {
              if (missed.n >= chunk.n) break;
              last = missed.n;
              yield { stream: missed.stream, data: missed.data, at: missed.at };
            }
          }
          last = chunk.n;
          yield { stream: chunk.stream, data: chunk.data, at: chunk.at };
        }
        if (closed || !open()) return; // the runtime stopped: the store is no longer there to read
        if (ended()) {
          // Its output is in the store before the record that ended it: whatever is not here yet is there.
          for await (const chunk of stored(this.#backend)) {
            last = chunk.n;
            yield { stream: chunk.stream, data: chunk.data, at: chunk.at };
          }
          return;
        }
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    } finally {
      subscription?.unsubscribe();
      followers.delete(follower);
      if (followers.size === 0) this.#followers.delete(taskId);
    }
  }
}
