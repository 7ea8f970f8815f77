import { encode } from '@msgpack/msgpack';
import { DEFAULT_MAX_BLOB_BYTES, type AppendReceipt, type LogRecord, type LogStore, type ReadOptions, type Snapshot } from './log-store.js';
import { StoreError } from './store-error.js';

// One settled promise serves every append: memory is "durable" as soon as it is written.
const SETTLED: Promise<void> = Promise.resolve();

/**
 * The in-memory log: for ephemeral runtimes and tests. Values are kept by
 * reference, so callers must not mutate a value after appending it.
 */
export class MemoryLogStore<T = unknown> implements LogStore<T> {
  // Records live in one array; `#offset` is the sequence number of records[0],
  // so dropping a prefix does not renumber anything.
  #records: T[] = [];
  #offset = 1;
  #snapshot: Snapshot<unknown> | undefined;
  #closed = false;
  readonly #blobs = new Map<string, { bytes: number; chunks: Array<{ value: unknown; size: number }> }>();
  readonly #maxBlobBytes: number;

  constructor(options: { maxBlobBytes?: number } = {}) {
    this.#maxBlobBytes = options.maxBlobBytes ?? DEFAULT_MAX_BLOB_BYTES;
  }

  get lastSeq(): number {
    return this.#offset + this.#records.length - 1;
  }

  append(values: readonly T[]): AppendReceipt {
    this.#assertOpen();
    if (!Array.isArray(values) || values.length === 0) {
      throw new StoreError('STORE_INVALID_ARGUMENT', 'append needs a non-empty array of values');
    }
    const firstSeq = this.lastSeq + 1;
    for (const value of values) this.#records.push(value);
    return { firstSeq, lastSeq: this.lastSeq, durable: SETTLED };
  }

  async *read(options: ReadOptions = {}): AsyncIterable<LogRecord<T>> {
    this.#assertOpen();
    const from = Math.max(options.fromSeq ?? 1, this.#offset);
    // Reads the live array so records appended during iteration are seen too.
    for (let seq = from; seq <= this.lastSeq; seq++) {
      yield { seq, value: this.#records[seq - this.#offset] as T };
    }
  }

  async saveSnapshot<S>(snapshot: Snapshot<S>): Promise<void> {
    this.#assertOpen();
    if (!Number.isInteger(snapshot.seq) || snapshot.seq < 0 || snapshot.seq > this.lastSeq) {
      throw new StoreError('STORE_INVALID_ARGUMENT', `snapshot.seq must be an integer in 0..${this.lastSeq}`);
    }
    this.#snapshot = { seq: snapshot.seq, value: snapshot.value };
  }

  async loadSnapshot<S>(): Promise<Snapshot<S> | undefined> {
    this.#assertOpen();
    return this.#snapshot as Snapshot<S> | undefined;
  }

  async dropBelow(seq: number): Promise<number> {
    this.#assertOpen();
    if (!Number.isInteger(seq) || seq < 1) {
      throw new StoreError('STORE_INVALID_ARGUMENT', 'dropBelow needs a positive integer sequence number');
    }
    const count = Math.min(Math.max(seq - this.#offset, 0), this.#records.length);
    if (count > 0) {
      this.#records.splice(0, count);
      this.#offset += count;
    }
    return count;
  }

  appendBlob(key: string, chunk: unknown): Promise<void> {
    this.#assertOpen();
    // Sized by the same encoding the LevelDB store writes, so both caps mean the same.
    const size = encode(chunk, { ignoreUndefined: true }).byteLength;
    let blob = this.#blobs.get(key);
    if (blob === undefined) {
      blob = { bytes: 0, chunks: [] };
      this.#blobs.set(key, blob);
    }
    blob.chunks.push({ value: chunk, size });
    blob.bytes += size;
    while (blob.bytes > this.#maxBlobBytes && blob.chunks.length > 0) blob.bytes -= (blob.chunks.shift() as { size: number }).size;
    return SETTLED;
  }

  async *readBlobs(key: string): AsyncIterable<unknown> {
    this.#assertOpen();
    for (const chunk of [...(this.#blobs.get(key)?.chunks ?? [])]) yield chunk.value;
  }

  closeBlob(_key: string): void {
    // Memory keeps the chunks themselves; there is nothing else to let go of.
  }

  async dropBlobs(key: string): Promise<void> {
    this.#assertOpen();
    this.#blobs.delete(key);
  }

  async flush(): Promise<void> {
    this.#assertOpen();
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreError('STORE_CLOSED', 'the log store is closed');
  }
}
