import { randomUUID } from 'node:crypto';
import type { LogStore } from '@steward/store';
import { OutputBuffer } from './output-buffer.js';
import type { OutputChunk } from './types.js';

/** An output chunk as the store keeps it: with the session and number that order it. */
export interface StoredChunk extends OutputChunk {
  readonly s: string;
  readonly n: number;
}

/**
 * Where tasks' captured output goes: a bounded buffer per task in memory, or, with a
 * data directory, the store's blob keyspace (capped per task, tail kept), so the
 * output outlives the process and costs no memory once the task has ended.
 */
export class TaskOutput {
  /** Tells this process's chunks from those of earlier runs on the same data directory. */
  readonly sessionId = randomUUID();
  readonly #store: LogStore | undefined;
  readonly #maxBytes: number;
  readonly #buffers = new Map<string, OutputBuffer>();
  readonly #counts = new Map<string, number>();

  /** `store` set: output goes to disk. */
  constructor(store: LogStore | undefined, maxBytes: number) {
    this.#store = store;
    this.#maxBytes = maxBytes;
  }

  /** True when output is kept in the store. */
  get onDisk(): boolean {
    return this.#store !== undefined;
  }

  append(taskId: string, chunk: OutputChunk): void {
    if (this.#store !== undefined) {
      const n = this.#counts.get(taskId) ?? 0;
      this.#counts.set(taskId, n + 1);
      const stored: StoredChunk = { ...chunk, s: this.sessionId, n };
      this.#store.appendBlob(taskId, stored);
      return;
    }
    let buffer = this.#buffers.get(taskId);
    if (buffer === undefined) {
      buffer = new OutputBuffer(this.#maxBytes);
      this.#buffers.set(taskId, buffer);
    }
    buffer.append(chunk);
  }

  /** The in-memory buffer of a task (without a data directory). */
  buffer(taskId: string): OutputBuffer | undefined {
    return this.#buffers.get(taskId);
  }

  /** Chunks this session wrote for a task so far (on disk). */
  count(taskId: string): number {
    return this.#counts.get(taskId) ?? 0;
  }

  /** The stored chunks of a task, oldest first (on disk). */
  stored(taskId: string): AsyncIterable<StoredChunk> {
    return (this.#store?.readBlobs(taskId) ?? emptyIterable()) as AsyncIterable<StoredChunk>;
  }

  /** The task ended: its on-disk bookkeeping leaves memory (its chunks stay). */
  ended(taskId: string): void {
    if (this.#counts.delete(taskId)) this.#store?.closeBlob(taskId);
  }

  /** The task is forgotten (retention): its output goes too. */
  drop(taskId: string): void {
    this.#buffers.delete(taskId);
    this.#counts.delete(taskId);
    if (this.#store !== undefined) void this.#store.dropBlobs(taskId).catch(() => undefined);
  }
}

async function* emptyIterable(): AsyncIterable<never> {}
