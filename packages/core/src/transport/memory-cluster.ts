import type { JournalRecord } from '../journal/journal-record.js';
import type { ClusterBackend, ControlMessage, NumberedChunk } from './cluster-backend.js';
import { LeaseTable } from './lease-table.js';

/** A node's claims: at most `limit` at once over all its types. */
interface NodeClaims {
  limit: number;
  active: number;
}

interface Consumer {
  readonly node: NodeClaims;
  readonly run: (id: string) => Promise<void>;
  readonly released: ((id: string) => void) | undefined;
  closed: boolean;
  /** Settles when the claims it holds have. */
  readonly claims: Set<Promise<void>>;
}

interface Entry {
  readonly id: string;
  readonly priority: number;
  readonly order: number;
}

/**
 * A cluster's shared store in this process, for tests: several runtimes made with
 * `clusterTransport(cluster.backend(nodeId))` share its journal, claim queue, key
 * reservations and control channel, the way nodes share Redis through
 * `bullmqTransport`. Records reach followers a microtask after their append, in order.
 */
export class MemoryCluster {
  readonly #journal: JournalRecord[] = [];
  readonly #followers = new Set<(records: readonly JournalRecord[]) => void>();
  #delivered: Promise<void> = Promise.resolve();
  readonly #queues = new Map<string, Entry[]>();
  /** Task ids waiting or claimed: enqueueing one again is a no-op, as with a job id in BullMQ. */
  readonly #present = new Set<string>();
  /** Types with a cluster-wide concurrency, and how many of each are claimed now. */
  readonly #typeLimits = new Map<string, number>();
  readonly #typeActive = new Map<string, number>();
  readonly #consumers = new Map<string, Consumer[]>();
  readonly #reservations = new Map<string, string>();
  readonly #control = new Set<(message: ControlMessage) => void>();
  readonly #leases = new LeaseTable();
  readonly #output = new Map<string, { next: number; bytes: number; chunks: NumberedChunk[] }>();
  readonly #now: () => number;
  readonly #leaseMs: number;
  #order = 0;

  /** `now` is the store's clock (the leases' and rate windows' time); `leaseMs` how long a hold lasts unrenewed. */
  constructor(options: { now?: () => number; leaseMs?: number } = {}) {
    this.#now = options.now ?? Date.now;
    this.#leaseMs = options.leaseMs ?? 30_000;
  }

  /** Every record appended so far. */
  get journal(): readonly JournalRecord[] {
    return this.#journal;
  }

  backend(nodeId: string): ClusterBackend {
    const consumers: Consumer[] = [];
    const node: NodeClaims = { limit: 0, active: 0 };
    const followers: Array<(records: readonly JournalRecord[]) => void> = [];
    const controls: Array<(message: ControlMessage) => void> = [];
    return {
      nodeId,
      append: async (records) => {
        this.#journal.push(...records);
        const copy = [...records];
        this.#delivered = this.#delivered.then(() => {
          for (const follower of this.#followers) follower(copy);
        });
        await this.#delivered;
      },
      follow: async (apply) => {
        await this.#delivered;
        apply([...this.#journal]);
        this.#followers.add(apply);
        followers.push(apply);
      },
      caughtUp: () => this.#delivered,
      reserve: async (key, id) => {
        const holder = this.#reservations.get(key);
        if (holder !== undefined) return holder;
        this.#reservations.set(key, id);
        return id;
      },
      enqueue: async (tasks) => {
        for (const { id, type, priority } of tasks) {
          if (this.#present.has(id)) continue;
          this.#present.add(id);
          const queue = this.#queues.get(type) ?? [];
          this.#queues.set(type, queue);
          queue.push({ id, priority, order: this.#order++ });
          queue.sort((a, b) => b.priority - a.priority || a.order - b.order);
          this.#dispatch(type);
        }
      },
      dequeue: async (id, type) => {
        const queue = this.#queues.get(type) ?? [];
        const at = queue.findIndex((entry) => entry.id === id);
        if (at < 0) return false;
        queue.splice(at, 1);
        this.#present.delete(id);
        return true;
      },
      consume: async (type, concurrency, run, released) => {
        node.limit = concurrency;
        const consumer: Consumer = { node, run, released, closed: false, claims: new Set() };
        consumers.push(consumer);
        const list = this.#consumers.get(type) ?? [];
        this.#consumers.set(type, list);
        list.push(consumer);
        this.#dispatch(type);
      },
      limitType: async (type, concurrency) => {
        this.#typeLimits.set(type, concurrency);
      },
      leaseMs: this.#leaseMs,
      hold: async (owner, claims) => this.#leases.hold(owner, claims, this.#now(), this.#leaseMs),
      renew: async (owner, claims) => this.#leases.renew(owner, claims, this.#now(), this.#leaseMs),
      letGo: async (owner, claims) => this.#leases.letGo(owner, claims),
      adjustRate: async (claim, change) => this.#leases.adjustRate(claim, change, this.#now()),
      appendOutput: async (taskId, chunks, maxBytes) => {
        let kept = this.#output.get(taskId);
        if (kept === undefined) this.#output.set(taskId, (kept = { next: 1, bytes: 0, chunks: [] }));
        const first = kept.next;
        for (const chunk of chunks) {
          kept.chunks.push({ ...chunk, n: kept.next++ });
          kept.bytes += chunk.data.length;
        }
        while (kept.bytes > maxBytes && kept.chunks.length > 1) kept.bytes -= (kept.chunks.shift() as NumberedChunk).data.length;
        return first;
      },
      readOutput: async (taskId) => [...(this.#output.get(taskId)?.chunks ?? [])],
      broadcast: async (message) => {
        for (const listener of this.#control) listener(message);
      },
      onControl: (listener) => {
        this.#control.add(listener);
        controls.push(listener);
      },
      close: async () => {
        for (const consumer of consumers) consumer.closed = true;
        await Promise.all(consumers.flatMap((consumer) => [...consumer.claims]));
        for (const follower of followers) this.#followers.delete(follower);
        for (const listener of controls) this.#control.delete(listener);
      },
    };
  }

  /** Hands waiting tasks of `type` to consumers with room, in turn. */
  #dispatch(type: string): void {
    const queue = this.#queues.get(type);
    const consumers = this.#consumers.get(type);
    if (queue === undefined || consumers === undefined) return;
    let progressed = true;
    while (queue.length > 0 && progressed) {
      progressed = false;
      for (const consumer of consumers) {
        if (queue.length === 0) break;
        if ((this.#typeActive.get(type) ?? 0) >= (this.#typeLimits.get(type) ?? Infinity)) return;
        if (consumer.closed || consumer.node.active >= consumer.node.limit) continue;
        const entry = queue.shift() as Entry;
        progressed = true;
        consumer.node.active++;
        this.#typeActive.set(type, (this.#typeActive.get(type) ?? 0) + 1);
        const claim = consumer.run(entry.id).then(
          () => {
            this.#present.delete(entry.id);
            consumer.released?.(entry.id);
          },
          () => {
            // A claim whose run failed goes back, as a failed BullMQ job with attempts left.
            queue.push(entry);
            queue.sort((a, b) => b.priority - a.priority || a.order - b.order);
          },
        );
        consumer.claims.add(claim);
        void claim.finally(() => {
          consumer.claims.delete(claim);
          consumer.node.active--;
          this.#typeActive.set(type, (this.#typeActive.get(type) ?? 1) - 1);
          // Room for any type of this node.
          for (const other of this.#queues.keys()) this.#dispatch(other);
        });
      }
    }
  }
}
