/** One record of the log: a sequence number and the plain-data value stored under it. */
export interface LogRecord<T = unknown> {
  readonly seq: number;
  readonly value: T;
}

/** What an append hands back at once: the sequence numbers given, and when they are durable. */
export interface AppendReceipt {
  /** Sequence number of the first value of the batch. */
  readonly firstSeq: number;
  /** Sequence number of the last value of the batch. */
  readonly lastSeq: number;
  /**
   * Settles when the whole batch is durable as far as this store promises
   * (in memory: at once; on disk: after the write, or the fsync in strict mode).
   */
  readonly durable: Promise<void>;
}

/** A snapshot: a value that stands for every record up to and including `seq`. */
export interface Snapshot<S = unknown> {
  readonly seq: number;
  readonly value: S;
}

/** Default byte cap of one blob key. */
export const DEFAULT_MAX_BLOB_BYTES = 1024 * 1024;

/** Options for {@link LogStore.read}. */
export interface ReadOptions {
  /** First sequence number to yield (inclusive). @defaultValue 1 */
  fromSeq?: number;
  /**
   * Salvage: called for a record in the middle of the log that cannot be read, which
   * is then skipped. Without it such a record ends the read with STORE_CORRUPT.
   */
  onBadRecord?: (seq: number, cause: unknown) => void;
}

/**
 * The log contract: an append-only sequence of plain-data records numbered from 1.
 * Sequence numbers are assigned synchronously at append, in call order, and are
 * never reused, so two appenders in the same turn get distinct, ordered numbers.
 * The store knows values and sequence numbers, never what they mean.
 */
export interface LogStore<T = unknown> {
  /**
   * Sequence number of the newest record appended (or covered by the snapshot, when
   * compaction dropped every record), or 0 for an empty log.
   */
  readonly lastSeq: number;
  /**
   * Set while writes fail (a full disk, say): the error that stops them. The store
   * keeps what it could not write and retries it; the field clears once a write
   * succeeds again. A store that never fails may leave it out.
   */
  readonly failure?: Error | undefined;
  /** Appends a batch; numbers are assigned at once, durability follows. Rejects an empty batch. */
  append(values: readonly T[]): AppendReceipt;
  /** Iterates records in sequence order from `fromSeq`, skipping dropped ones. */
  read(options?: ReadOptions): AsyncIterable<LogRecord<T>>;
  /** Stores a snapshot; the newest one replaces older ones. */
  saveSnapshot<S>(snapshot: Snapshot<S>): Promise<void>;
  /** The newest snapshot, or undefined when none was saved. */
  loadSnapshot<S>(): Promise<Snapshot<S> | undefined>;
  /** Deletes every record whose sequence number is below `seq`; resolves with how many went. */
  dropBelow(seq: number): Promise<number>;
  /**
   * Appends a chunk under `key` in the blob keyspace (task output, say), written with
   * the next log batch. Each key keeps at most its byte cap (of the encoded chunks):
   * past it the oldest chunks go, so the tail is kept. The promise settles once the
   * chunk is written (rejects when that write fails): a writer of many chunks waits
   * on it so that it never runs ahead of the store. A store that writes at once may
   * return nothing.
   */
  appendBlob(key: string, chunk: unknown): Promise<void> | void;
  /** The chunks kept under `key`, oldest first. */
  readBlobs(key: string): AsyncIterable<unknown>;
  /** Lets go of what the store holds in memory about `key` (its chunks stay). */
  closeBlob(key: string): void;
  /** Deletes every chunk under `key`. */
  dropBlobs(key: string): Promise<void>;
  /** Resolves when every append so far is durable. */
  flush(): Promise<void>;
  /** Flushes and releases the store; later calls reject with STORE_CLOSED. */
  close(): Promise<void>;
}
