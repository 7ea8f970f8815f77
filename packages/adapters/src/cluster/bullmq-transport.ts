import { randomUUID } from 'node:crypto';
import { decode, Encoder } from '@msgpack/msgpack';
import { clusterTransport, InvalidOptionsError, TransportUnavailableError, type ClusterBackend, type ControlMessage, type EnqueuedTask, type GateClaim, type HoldAnswer, type JournalRecord, type RateChange, type RateClaim, type OutputChunk, type Transport } from '@steward/core';
import type { NumberedChunk } from '@steward/core/transport';
import { Queue, Worker } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { RedisLeases } from './redis-leases.js';
import { redisUrl, type RedisConnection } from './redis-url.js';
import { RedisOutput } from './redis-output.js';

/** Options of {@link bullmqTransport}. */
export interface BullmqTransportOptions {
  /** Where Redis listens: ioredis options, or a `redis://[user:password@]host[:port][/db]` URL (`rediss://` for TLS). */
  readonly connection: RedisConnection | string;
  /** Namespace of every key this cluster keeps in Redis (default `steward`). */
  readonly prefix?: string;
  /** This node's name (default: host name and pid). */
  readonly nodeId?: string;
  /** How soon a dead node's claims go to the others, in ms (default 30_000): BullMQ's lock duration and stall check. */
  readonly stalledIntervalMs?: number;
}

/** As the local journal encodes: an absent field stays absent (not nil). */
const encoder = new Encoder({ ignoreUndefined: true });

/** At most this many tasks go into the claim queue in one transaction (none of them can be claimed before all are in). */
const ENQUEUE_CHUNK = 64;

/** BullMQ's priority: 1 is first. Steward's higher levels map to lower numbers. */
function bullPriority(priority: number): number {
  return Math.min(2_097_151, Math.max(1, Math.round(1_048_576 - priority)));
}

/** A queue name BullMQ accepts (no ':'), one per task type. */
function queueName(type: string): string {
  return `type-${encodeURIComponent(type).replaceAll('%', '~')}`;
}

/** `a-b` stream ids compared as numbers. */
function streamIdAtLeast(id: string, target: string): boolean {
  const [a1, a2] = id.split('-').map(Number) as [number, number];
  const [b1, b2] = target.split('-').map(Number) as [number, number];
  return a1 > b1 || (a1 === b1 && a2 >= b2);
}

/** Resolves once `connection` is ready; rejects at its first error (a Redis that is not there at start). */
function ready(connection: Redis): Promise<void> {
  if (connection.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onReady = () => {
      connection.off('error', onError);
      resolve();
    };
    const onError = (error: Error) => {
      connection.off('ready', onReady);
      reject(error);
    };
    connection.once('ready', onReady);
    connection.once('error', onError);
  });
}

/** Runs `fn`; a failure to reach Redis becomes STEWARD_TRANSPORT_UNAVAILABLE (nothing was acknowledged). */
async function reach<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw new TransportUnavailableError(`${what}: Redis cannot be reached (${error instanceof Error ? error.message : String(error)})`, { cause: error });
  }
}

/**
 * The cluster's shared store on Redis: the journal is a Redis stream every node appends
 * to and reads (`<prefix>:journal`, MessagePack batches), the claim queue is one BullMQ
 * queue per task type (atomic claims in Lua, priorities, stall detection), idempotency
 * keys are `SET NX` keys and cancels go over pub/sub.
 */
class BullmqBackend implements ClusterBackend {
  readonly nodeId: string;
  readonly #options: Omit<BullmqTransportOptions, 'connection'> & { readonly connection: RedisConnection };
  readonly #prefix: string;
  readonly #stalledMs: number;
  readonly #journalKey: string;
  /** Commands that must answer now: no offline queue, so a Redis that is down fails them at once. */
  readonly #commands: Redis;
  readonly #leases: RedisLeases;
  readonly #output: RedisOutput;
  #subscriber: Redis | undefined;
  readonly #queues = new Map<string, Queue>();
  readonly #workers: Worker[] = [];
  readonly #connections: Redis[] = [];
  #lastApplied = '0-0';
  /** This process's appends not yet read back, by tag (a name no other process uses, and a count). */
  readonly #own = new Map<string, readonly JournalRecord[]>();
  readonly #appender = randomUUID();
  #appends = 0;
  readonly #caughtUpWaiters: Array<{ id: string; resolve: () => void }> = [];
  #closed = false;
  /** Claims this node holds now, over every type, and how many it may hold. */
  #active = 0;
  #limit = Infinity;
  #paused = false;

  constructor(options: Omit<BullmqTransportOptions, 'connection'> & { readonly connection: RedisConnection }) {
    this.#options = options;
    this.#prefix = options.prefix ?? 'steward';
    this.nodeId = options.nodeId ?? `${process.env.HOSTNAME ?? 'node'}-${process.pid}`;
    this.#stalledMs = options.stalledIntervalMs ?? 30_000;
    this.#journalKey = `${this.#prefix}:journal`;
    // Commands of one turn go out in one write (a burst of submissions is one round trip).
    this.#commands = this.#connect({ enableOfflineQueue: false, enableAutoPipelining: true });
    // A node's locks and keys last one stall interval unrenewed, as its claims do.
    this.#leases = new RedisLeases(this.#commands, this.#prefix, this.#stalledMs);
    this.#output = new RedisOutput(this.#commands, this.#prefix);
  }

  appendOutput(taskId: string, chunks: readonly OutputChunk[], maxBytes: number): Promise<number> {
    return reach('output', () => this.#output.append(taskId, chunks, maxBytes));
  }

  readOutput(taskId: string): Promise<NumberedChunk[]> {
    return reach('output', () => this.#output.read(taskId));
  }

  get leaseMs(): number {
    return this.#stalledMs;
  }

  hold(owner: string, claims: readonly GateClaim[]): Promise<HoldAnswer> {
    return reach('hold', () => this.#leases.hold(owner, claims));
  }

  renew(owner: string, claims: readonly GateClaim[]): Promise<boolean> {
    return reach('renew', () => this.#leases.renew(owner, claims));
  }

  letGo(owner: string, claims: readonly GateClaim[]): Promise<void> {
    return reach('let go', () => this.#leases.letGo(owner, claims));
  }

  adjustRate(claim: RateClaim, change: RateChange): Promise<void> {
    return reach('rate', () => this.#leases.adjustRate(claim, change));
  }

  #connect(extra: RedisOptions = {}): Redis {
    const connection = new Redis({ ...this.#options.connection, maxRetriesPerRequest: null, lazyConnect: false, ...extra });
    // Reconnects by itself; an error between commands must not take the process down.
    connection.on('error', () => undefined);
    this.#connections.push(connection);
    return connection;
  }

  #queue(type: string): Queue {
    let queue = this.#queues.get(type);
    if (queue === undefined) {
      queue = new Queue(queueName(type), { connection: this.#connect({ enableAutoPipelining: true }), prefix: this.#prefix });
      queue.on('error', () => undefined);
      this.#queues.set(type, queue);
    }
    return queue;
  }

  async append(records: readonly JournalRecord[]): Promise<void> {
    // Tagged, so that this node applies its own batches as they are when they come back, not decoded again.
    const tag = `${this.#appender}:${this.#appends++}`;
    this.#own.set(tag, records);
    try {
      await reach('append', () => this.#commands.xadd(this.#journalKey, '*', 'r', Buffer.from(encoder.encode(records)), 'n', tag));
    } catch (error) {
      this.#own.delete(tag); // if it reached the stream after all, it is decoded there
      throw error;
    }
  }

  async follow(apply: (records: readonly JournalRecord[]) => void): Promise<void> {
    await reach('connect', () => ready(this.#commands));
    const reader = this.#connect();
    // What is there now, in pages.
    for (;;) {
      const start = this.#lastApplied === '0-0' ? '-' : `(${this.#lastApplied}`;
      const page = await reader.xrangeBuffer(this.#journalKey, start, '+', 'COUNT', 1_000);
      if (page.length === 0) break;
      this.#applyEntries(page, apply);
    }
    void this.#tail(reader, apply);
  }

  async #tail(reader: Redis, apply: (records: readonly JournalRecord[]) => void): Promise<void> {
    while (!this.#closed) {
      try {
        const answer = await reader.xreadBuffer('COUNT', 1_000, 'BLOCK', 1_000, 'STREAMS', this.#journalKey, this.#lastApplied);
        if (answer === null) continue;
        for (const [, entries] of answer) this.#applyEntries(entries, apply);
      } catch {
        if (this.#closed) return;
        await new Promise((resolve) => setTimeout(resolve, 200)); // Redis away: it reconnects, and so do we
      }
    }
  }

  #applyEntries(entries: Array<[Buffer, Buffer[]]>, apply: (records: readonly JournalRecord[]) => void): void {
    for (const [rawId, fields] of entries) {
      const id = rawId.toString();
      const value = fields[1];
      const tag = fields[3]?.toString();
      const own = tag === undefined ? undefined : this.#own.get(tag);
      if (own !== undefined) {
        this.#own.delete(tag as string);
        apply(own);
      } else if (value !== undefined) {
        apply(decode(value) as JournalRecord[]);
      }
      this.#lastApplied = id;
    }
    for (let i = this.#caughtUpWaiters.length - 1; i >= 0; i--) {
      const waiter = this.#caughtUpWaiters[i] as { id: string; resolve: () => void };
      if (streamIdAtLeast(this.#lastApplied, waiter.id)) {
        this.#caughtUpWaiters.splice(i, 1);
        waiter.resolve();
      }
    }
  }

  async caughtUp(): Promise<void> {
    const newest = await reach('read', () => this.#commands.xrevrange(this.#journalKey, '+', '-', 'COUNT', 1));
    const id = newest[0]?.[0];
    if (id === undefined || streamIdAtLeast(this.#lastApplied, id)) return;
    await new Promise<void>((resolve) => this.#caughtUpWaiters.push({ id, resolve }));
  }

  async reserve(key: string, id: string): Promise<string> {
    const name = `${this.#prefix}:idem:${key}`;
    const set = await reach('submit', () => this.#commands.set(name, id, 'NX'));
    if (set === 'OK') return id;
    return (await reach('submit', () => this.#commands.get(name))) ?? id;
  }

  async enqueue(tasks: readonly EnqueuedTask[]): Promise<void> {
    const chunks: EnqueuedTask[][] = [];
    const open = new Map<string, EnqueuedTask[]>();
    for (const task of tasks) {
      let chunk = open.get(task.type);
      if (chunk === undefined || chunk.length >= ENQUEUE_CHUNK) {
        chunk = [];
        open.set(task.type, chunk);
        chunks.push(chunk);
      }
      chunk.push(task);
    }
    // A transaction per chunk: each is claimable as soon as it is in, while the next ones
    // are still on their way. The job id is the task id: a task already there stays as it is.
    await reach('submit', () =>
      Promise.all(
        chunks.map((chunk) =>
          this.#queue((chunk[0] as EnqueuedTask).type).addBulk(
            chunk.map((task) => ({
              name: 'task',
              data: { id: task.id },
              // A claim that fails (its node shut down mid-run) goes back at once for another node.
              opts: { jobId: task.id, priority: bullPriority(task.priority), attempts: 1_000_000, removeOnComplete: true, removeOnFail: true },
            })),
          ),
        ),
      ),
    );
  }

  async limitType(type: string, concurrency: number): Promise<void> {
    // BullMQ's global concurrency: its claim script counts the queue's active jobs, on every node.
    await reach('define', () => this.#queue(type).setGlobalConcurrency(concurrency));
  }

  async dequeue(id: string, type: string): Promise<boolean> {
    return (await reach('cancel', () => this.#queue(type).remove(id))) === 1;
  }

  async consume(type: string, concurrency: number, run: (id: string) => Promise<void>, released?: (id: string) => void): Promise<void> {
    this.#limit = concurrency;
    const worker = new Worker(queueName(type), (job) => this.#claimed((job.data as { id: string }).id, run), {
      connection: this.#connect(),
      prefix: this.#prefix,
      concurrency,
      lockDuration: this.#stalledMs,
      stalledInterval: this.#stalledMs,
      // Steward counts interruptions itself (recovery.maxInterruptions); BullMQ must keep handing the task on.
      maxStalledCount: 1_000_000,
    });
    worker.on('error', () => undefined);
    // After BullMQ has finished the job (removed it): the task id is free for a new job.
    if (released !== undefined) worker.on('completed', (job) => released((job.data as { id: string }).id));
    this.#workers.push(worker);
    await worker.waitUntilReady();
  }

  /**
   * One claim of this node. Each worker's own concurrency bounds a single type; over
   * several types the node pauses its workers while its claims fill its concurrency, so
   * what it cannot run yet stays in the shared queue for a node with room; a claim that
   * was already on its way when they paused is handed back.
   */
  async #claimed(id: string, run: (id: string) => Promise<void>): Promise<void> {
    // A claim that came in on its way while the workers paused: handed straight back
    // (a failed attempt of the job, retried at once by whichever node has room).
    if (this.#active >= this.#limit) throw new Error(`node ${this.nodeId} is full: task ${id} goes back to the queue`);
    this.#active++;
    if (this.#workers.length > 1 && this.#active >= this.#limit && !this.#paused) {
      this.#paused = true;
      for (const worker of this.#workers) void worker.pause(true).catch(() => undefined);
    }
    try {
      await run(id);
      // Claims of one turn end together (one append holds their records). Handed back to
      // BullMQ one macrotask later, its worker has taken in the jobs fetched by the ones
      // before, and finishing the job fetches the next one in the same round trip.
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      this.#active--;
      if (this.#paused && this.#active < this.#limit && !this.#closed) {
        this.#paused = false;
        for (const worker of this.#workers) worker.resume();
      }
    }
  }

  async broadcast(message: ControlMessage): Promise<void> {
    await reach('cancel', () => this.#commands.publish(`${this.#prefix}:control`, JSON.stringify(message)));
  }

  onControl(listener: (message: ControlMessage) => void): void {
    if (this.#subscriber === undefined) {
      const subscriber = (this.#subscriber = this.#connect());
      void subscriber.subscribe(`${this.#prefix}:control`).catch(() => undefined);
      subscriber.on('message', (_channel: string, text: string) => {
        try {
          listener(JSON.parse(text) as ControlMessage);
        } catch {
          // not one of ours
        }
      });
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(this.#workers.map((worker) => worker.close().catch(() => undefined)));
    await Promise.all([...this.#queues.values()].map((queue) => queue.close().catch(() => undefined)));
    for (const waiter of this.#caughtUpWaiters.splice(0)) waiter.resolve();
    // Nothing is left to answer (the reader may sit in a blocking read): let go at once.
    for (const connection of this.#connections) connection.disconnect();
  }
}

/**
 * Cluster mode on BullMQ and Redis: every node made with this transport (and the same
 * `connection` and `prefix`) shares one record of tasks and one claim queue. A task
 * submitted on any node runs on a node that defines its type and has room, by priority;
 * `rt.get`, `rt.list`, handles, `rt.cancel` and `rt.events$` see every task of the
 * cluster. Run Redis with `appendonly yes`: it is the store of record.
 */
export function bullmqTransport(options: BullmqTransportOptions): Transport {
  if (options === null || typeof options !== 'object' || options.connection === null || !['object', 'string'].includes(typeof options.connection)) {
    throw new InvalidOptionsError('bullmqTransport: options.connection must be an object (host, port) or a redis:// URL');
  }
  const connection = typeof options.connection === 'string' ? redisUrl(options.connection) : options.connection;
  if (options.stalledIntervalMs !== undefined && (!Number.isInteger(options.stalledIntervalMs) || options.stalledIntervalMs < 100)) {
    throw new InvalidOptionsError('bullmqTransport: options.stalledIntervalMs must be an integer of at least 100');
  }
  if (options.prefix !== undefined && (typeof options.prefix !== 'string' || options.prefix.length === 0)) {
    throw new InvalidOptionsError('bullmqTransport: options.prefix must be a non-empty string');
  }
  return {
    kind: 'bullmq',
    // The connections open when a runtime joins, not when the options are written.
    connect: (node) => clusterTransport(new BullmqBackend({ ...options, connection })).connect(node),
  };
}
