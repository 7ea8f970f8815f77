import { randomUUID } from 'node:crypto';
import { translateStoreError } from '../journal/store-errors.js';
import type { LogStore } from '@steward/store';
import { chunkCapFor, OutputBuffer } from './output-buffer.js';
import type { OutputChunk } from '../model/types.js';

/** An output chunk as readers of the store get it: with the session and number that order it. */
export interface StoredChunk extends OutputChunk {
  readonly s: string;
  readonly n: number;
}

/**
 * What one blob write holds: the lines of a task written in one go, numbered from
 * `n`. (Stores written before batching hold one {@link StoredChunk} per write;
 * both are read.)
 */
interface StoredBatch {
  readonly s: string;
  readonly n: number;
  readonly lines: Array<[OutputChunk['stream'], string, number]>;
}

/** Limits of {@link TaskOutput}; every one has a default derived from the byte cap. */
export interface TaskOutputOptions {
  /** Chunks a task keeps in memory. @defaultValue {@link chunkCapFor}(maxBytes) */
  maxChunks?: number;
  /** Bytes that ended tasks keep whole, all together; past it the oldest keep only a tail. @defaultValue 4 × maxBytes */
  endedBytes?: number;
  /** What an ended task keeps once past `endedBytes`. @defaultValue maxBytes / 4, at most 16 KiB */
  endedTailBytes?: number;
  /** Bytes of lines gathered into one blob write. @defaultValue maxBytes / 16, at most 64 KiB */
  batchBytes?: number;
  /** Bytes handed to the store and not yet written past which writers are asked to wait. @defaultValue 1 MiB */
  highWaterBytes?: number;
}

// What a line costs in a batch beyond its data (stream, time, array), for sizing batches.
const LINE_OVERHEAD = 24;

interface Pending {
  first: number;
  bytes: number;
  lines: StoredBatch['lines'];
}

/**
 * Where tasks' captured output goes: a bounded buffer per task in memory, or, with a
 * data directory, the store's blob keyspace (capped per task, tail kept), so the
 * output outlives the process and costs no memory once the task has ended.
 *
 * Memory stays bounded either way. In memory, each task keeps at most its byte and
 * chunk caps, and ended tasks together keep at most `endedBytes` whole (the oldest
 * keep a short tail beyond that). On disk, lines are gathered per task into one
 * blob write per turn (or per `batchBytes`), and {@link whenWritable} tells
 * writers that can pause (a child's pipe) to do so while the store is behind.
 */
export class TaskOutput {
  /** Tells this process's chunks from those of earlier runs on the same data directory. */
  readonly sessionId = randomUUID();
  readonly #store: LogStore | undefined;
  readonly #maxBytes: number;
  readonly #maxChunks: number;
  readonly #endedBudget: number;
  readonly #endedTailBytes: number;
  readonly #batchBytes: number;
  readonly #highWater: number;
  readonly #buffers = new Map<string, OutputBuffer>();
  /** Ended tasks still kept whole, oldest first, and their bytes together. */
  readonly #ended = new Map<string, OutputBuffer>();
  #endedBytes = 0;
  readonly #counts = new Map<string, number>();
  readonly #pending = new Map<string, Pending>();
  #pendingBytes = 0;
  #flushQueued = false;
  /** Bytes handed to the store whose write has not settled. */
  #inflight = 0;
  #behind: { promise: Promise<void>; resolve: () => void } | undefined;

  /** `store` set: output goes to disk. */
  constructor(store: LogStore | undefined, maxBytes: number, options: TaskOutputOptions = {}) {
    this.#store = store;
    this.#maxBytes = maxBytes;
    this.#maxChunks = options.maxChunks ?? chunkCapFor(maxBytes);
    this.#endedBudget = options.endedBytes ?? 4 * maxBytes;
    this.#endedTailBytes = options.endedTailBytes ?? Math.min(Math.floor(maxBytes / 4), 16 * 1024);
    // Small enough that the store's cap (maxBytes too) holds many batches, and so a tail.
    this.#batchBytes = options.batchBytes ?? Math.max(64, Math.min(64 * 1024, Math.floor(maxBytes / 16)));
    this.#highWater = options.highWaterBytes ?? 1024 * 1024;
  }

  /** True when output is kept in the store. */
  get onDisk(): boolean {
    return this.#store !== undefined;
  }

  /** Bytes of output on their way to the store: gathered, or handed over and not yet written. */
  get backlogBytes(): number {
    return this.#pendingBytes + this.#inflight;
  }

  /**
   * Undefined while output may flow; while the store is behind (more than the high
   * water mark handed over and not yet written), a promise that resolves once it has
   * caught up (half of that). A process executor pauses its pipes until then.
   */
  whenWritable(): Promise<void> | undefined {
    return this.#behind?.promise;
  }

  append(taskId: string, chunk: OutputChunk): void {
    if (this.#store !== undefined) {
      const n = this.#counts.get(taskId) ?? 0;
      this.#counts.set(taskId, n + 1);
      let pending = this.#pending.get(taskId);
      if (pending === undefined) {
        pending = { first: n, bytes: 0, lines: [] };
        this.#pending.set(taskId, pending);
      }
      // A line longer than the store's cap would not fit in it at all: keep its tail.
      const room = Math.max(0, this.#maxBytes - 256);
      const data = chunk.data.length > room ? chunk.data.slice(chunk.data.length - room) : chunk.data;
      const size = data.length + LINE_OVERHEAD;
      pending.lines.push([chunk.stream, data, chunk.at]);
      pending.bytes += size;
      this.#pendingBytes += size;
      if (pending.bytes >= this.#batchBytes) this.#flushTask(taskId);
      else if (!this.#flushQueued) {
        this.#flushQueued = true;
        setImmediate(() => this.flush());
      }
      return;
    }
    let buffer = this.#buffers.get(taskId);
    if (buffer === undefined) {
      buffer = new OutputBuffer(this.#maxBytes, this.#maxChunks);
      this.#buffers.set(taskId, buffer);
    }
    if (!this.#ended.has(taskId)) {
      buffer.append(chunk);
      return;
    }
    // Output after the end is still the task's: it counts against the ended budget.
    const before = buffer.bytes;
    buffer.append(chunk);
    this.#endedBytes += buffer.bytes - before;
    this.#trimEnded();
  }

  /** Hands every task's gathered lines to the store. */
  flush(): void {
    this.#flushQueued = false;
    for (const taskId of [...this.#pending.keys()]) this.#flushTask(taskId);
  }

  /** The in-memory buffer of a task (without a data directory). */
  buffer(taskId: string): OutputBuffer | undefined {
    return this.#buffers.get(taskId);
  }

  /** Chunks this session wrote for a task so far (on disk). */
  count(taskId: string): number {
    return this.#counts.get(taskId) ?? 0;
  }

  /** The stored chunks of a task, oldest first (on disk), including those gathered and not yet written. */
  stored(taskId: string): AsyncIterable<StoredChunk> {
    if (this.#store === undefined) return emptyIterable();
    this.#flushTask(taskId);
    return expand(translated(this.#store.readBlobs(taskId)));
  }

  /**
   * The task ended. On disk: its lines go to the store now and its bookkeeping leaves
   * memory (its chunks stay). In memory: it keeps its output whole while ended tasks
   * together stay within their budget; past it, the oldest keep only a tail.
   */
  ended(taskId: string): void {
    if (this.#store !== undefined) {
      this.#flushTask(taskId);
      if (this.#counts.delete(taskId)) this.#store.closeBlob(taskId);
      return;
    }
    const buffer = this.#buffers.get(taskId);
    if (buffer === undefined) return;
    const already = this.#ended.get(taskId);
    if (already !== undefined) this.#endedBytes -= already.bytes;
    this.#ended.delete(taskId);
    // Lets go of the spare slots a running task's buffer keeps.
    buffer.shrink(this.#maxBytes, this.#maxChunks);
    this.#ended.set(taskId, buffer);
    this.#endedBytes += buffer.bytes;
    this.#trimEnded();
  }

  /** The task is forgotten (retention): its output goes too. */
  drop(taskId: string): void {
    this.#buffers.delete(taskId);
    const ended = this.#ended.get(taskId);
    if (ended !== undefined) {
      this.#endedBytes -= ended.bytes;
      this.#ended.delete(taskId);
    }
    this.#counts.delete(taskId);
    const pending = this.#pending.get(taskId);
    if (pending !== undefined) {
      this.#pendingBytes -= pending.bytes;
      this.#pending.delete(taskId);
    }
    if (this.#store !== undefined) void this.#store.dropBlobs(taskId).catch(() => undefined);
  }

  #trimEnded(): void {
    for (const [taskId, buffer] of this.#ended) {
      if (this.#endedBytes <= this.#endedBudget) return;
      this.#endedBytes -= buffer.bytes;
      this.#ended.delete(taskId);
      buffer.shrink(this.#endedTailBytes, chunkCapFor(this.#endedTailBytes));
    }
  }

  #flushTask(taskId: string): void {
    const pending = this.#pending.get(taskId);
    const store = this.#store;
    if (pending === undefined || store === undefined) return;
    this.#pending.delete(taskId);
    this.#pendingBytes -= pending.bytes;
    const batch: StoredBatch = { s: this.sessionId, n: pending.first, lines: pending.lines };
    let written: Promise<void> | void;
    try {
      written = store.appendBlob(taskId, batch);
    } catch {
      return; // the store is closed (shutdown): output is not journaled, nothing waits on it
    }
    if (written === undefined) return;
    const bytes = pending.bytes;
    this.#inflight += bytes;
    if (this.#behind === undefined && this.#inflight >= this.#highWater) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.#behind = { promise, resolve };
    }
    const settled = () => {
      this.#inflight -= bytes;
      if (this.#behind !== undefined && this.#inflight <= this.#highWater / 2) {
        const behind = this.#behind;
        this.#behind = undefined;
        behind.resolve();
      }
    };
    written.then(settled, settled);
  }
}

async function* expand(values: AsyncIterable<unknown>): AsyncIterable<StoredChunk> {
  for await (const value of values) {
    const batch = value as StoredBatch;
    if (Array.isArray(batch.lines)) {
      for (let i = 0; i < batch.lines.length; i++) {
        const [stream, data, at] = batch.lines[i] as StoredBatch['lines'][number];
        yield { stream, data, at, s: batch.s, n: batch.n + i };
      }
    } else {
      yield value as StoredChunk;
    }
  }
}

async function* emptyIterable(): AsyncIterable<never> {}

/** The store's chunks, with what the store throws as a StewardError. */
async function* translated(chunks: AsyncIterable<unknown>): AsyncIterable<unknown> {
  try {
    yield* chunks;
  } catch (error) {
    throw translateStoreError(error, 'the data directory');
  }
}
