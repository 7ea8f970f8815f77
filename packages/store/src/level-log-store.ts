import { Level } from 'level';
import { DEFAULT_MAX_BLOB_BYTES, type AppendReceipt, type LogRecord, type LogStore, type ReadOptions, type Snapshot } from './log-store.js';
import { BLOB_SEQ_KEY, blobRange, decodeValue, encodeValue, RECORD_PREFIX, recordKey, SEQ_WIDTH, SNAPSHOT_KEY } from './level-layout.js';
import { claimLocation, releaseLocation } from './open-locations.js';
import { decodeRecords, lastSeqOf, type TailState } from './read-records.js';
import { readFailure, StoreError, writeFailure } from './store-error.js';


/** First and longest pause between attempts to write again after a failed write. */
const RETRY_FIRST_MS = 50;
const RETRY_MAX_MS = 2_000;

/** Options of {@link LevelLogStore.open}. */
export interface LevelLogStoreOptions {
  /** `strict` writes every batch with fsync before `durable` settles. @defaultValue 'batched' */
  durability?: 'batched' | 'strict';
  /** Byte cap of one blob key (of the encoded chunks); the tail is kept. @defaultValue 1 MiB */
  maxBlobBytes?: number;
  /**
   * Called when replay meets an undecodable record at the tail of the log (a torn
   * last write): iteration ends before it, and the record is dropped on open.
   */
  onTornTail?: (seq: number, cause: unknown) => void;
  /** Told when a write fails and the store starts retrying (a full disk, say). */
  onWriteFailed?: (error: StoreError) => void;
  /** Told when writing works again after a failure. */
  onRecovered?: () => void;
}

interface PendingBatch {
  readonly ops: Array<{ type: 'put'; key: string; value: Uint8Array } | { type: 'del'; key: string }>;
  /** True once this batch carries blob chunks (and so the blob counter). */
  blobs: boolean;
  readonly done: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * The LevelDB log (`level`, which is classic-level on Node), values in MessagePack. Appends are
 * group-committed: with no write in flight, every append of the current run of code
 * joins one LevelDB batch; with one in flight, appends gather until it finishes and
 * then go as one write. So many appenders cost one write, and `durable` settles once
 * the batch is written (with fsync in strict mode).
 */
export class LevelLogStore<T = unknown> implements LogStore<T> {
  readonly #db: Level<string, Uint8Array>;
  readonly #sync: boolean;
  readonly #onTornTail: ((seq: number, cause: unknown) => void) | undefined;
  #lastSeq = 0;
  #pending: PendingBatch | undefined;
  #writing: Promise<void> = Promise.resolve();
  /** True while a write is handed to LevelDB: there is never more than one, so batches stay in order. */
  #inFlight = false;
  /**
   * Batches whose write failed, oldest first: written again, first, with the next
   * write. Their `durable` promises stay pending until then (or reject at close).
   */
  #unwritten: PendingBatch[] = [];
  /** Set while writes fail; cleared by the first write that succeeds again. */
  #failure: StoreError | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #retryDelayMs = 0;
  readonly #onWriteFailed: ((error: StoreError) => void) | undefined;
  readonly #onRecovered: (() => void) | undefined;
  readonly #location: string;
  #closed = false;
  readonly #maxBlobBytes: number;
  #blobSeq = 0;
  /** Chunks written under each key in this session, for the cap (older sessions are trimmed on read). */
  readonly #blobs = new Map<string, { bytes: number; chunks: Array<{ key: string; size: number }> }>();

  private constructor(db: Level<string, Uint8Array>, location: string, options: LevelLogStoreOptions) {
    this.#db = db;
    this.#location = location;
    this.#sync = options.durability === 'strict';
    this.#onTornTail = options.onTornTail;
    this.#onWriteFailed = options.onWriteFailed;
    this.#onRecovered = options.onRecovered;
    this.#maxBlobBytes = options.maxBlobBytes ?? DEFAULT_MAX_BLOB_BYTES;
  }

  /**
   * Opens (or creates) the log in `location`. Rejects with STORE_LOCKED when another
   * process, or another open store of this process, holds it.
   */
  static async open<T = unknown>(location: string, options: LevelLogStoreOptions = {}): Promise<LevelLogStore<T>> {
    const real = await claimLocation(location);
    const db = new Level<string, Uint8Array>(location, { keyEncoding: 'utf8', valueEncoding: 'view' });
    try {
      try {
        await db.open();
      } catch (error) {
        const code = (error as { cause?: { code?: string } }).cause?.code;
        if (code === 'LEVEL_LOCKED') {
          throw new StoreError('STORE_LOCKED', `the log in ${location} is in use by another process`, { cause: error });
        }
        throw readFailure((error as { cause?: unknown }).cause ?? error, `could not open the log in ${location}`);
      }
      const store = new LevelLogStore<T>(db, real, options);
      store.#lastSeq = await lastSeqOf(db);
      const blobSeq = await db.get(BLOB_SEQ_KEY);
      if (blobSeq !== undefined) store.#blobSeq = Number(decodeValue(blobSeq));
      return store;
    } catch (error) {
      await db.close().catch(() => undefined);
      releaseLocation(real);
      throw readFailure(error, `could not open the log in ${location}`);
    }
  }

  get failure(): StoreError | undefined {
    return this.#failure;
  }

  get lastSeq(): number {
    return this.#lastSeq;
  }

  append(values: readonly T[]): AppendReceipt {
    this.#assertOpen();
    if (!Array.isArray(values) || values.length === 0) {
      throw new StoreError('STORE_INVALID_ARGUMENT', 'append needs a non-empty array of values');
    }
    // Encode before numbering: a value that cannot be encoded must not use up a number.
    const encoded = values.map((value) => encodeValue(value));
    const batch = this.#pending ?? this.#openBatch();
    const firstSeq = this.#lastSeq + 1;
    for (const value of encoded) batch.ops.push({ type: 'put', key: recordKey(++this.#lastSeq), value });
    return { firstSeq, lastSeq: this.#lastSeq, durable: batch.done };
  }

  async *read(options: ReadOptions = {}): AsyncIterable<LogRecord<T>> {
    this.#assertOpen();
    await this.#settle();
    const tail: TailState = {};
    yield* decodeRecords<T>(this.#db, Math.max(1, options.fromSeq ?? 1), options.onBadRecord, tail);
    const bad = tail.bad;
    if (bad !== undefined) {
      // A torn last write: replay ends at the last good record, and the bad one goes
      // so the next append does not leave it in the middle.
      await this.#db.del(recordKey(bad.seq));
      if (bad.seq === this.#lastSeq) this.#lastSeq = bad.seq - 1;
      this.#onTornTail?.(bad.seq, bad.cause);
    }
  }

  appendBlob(key: string, chunk: unknown): Promise<void> {
    this.#assertOpen();
    // While writes fail (a full disk), output is let go rather than piled up in memory.
    if (this.#failure !== undefined) return Promise.resolve();
    const value = encodeValue(chunk);
    const batch = this.#pending ?? this.#openBatch();
    const range = blobRange(key);
    const chunkKey = `${range.gte}${String(++this.#blobSeq).padStart(SEQ_WIDTH, '0')}`;
    batch.ops.push({ type: 'put', key: chunkKey, value });
    batch.blobs = true;
    let blob = this.#blobs.get(key);
    if (blob === undefined) {
      blob = { bytes: 0, chunks: [] };
      this.#blobs.set(key, blob);
    }
    blob.chunks.push({ key: chunkKey, size: value.byteLength });
    blob.bytes += value.byteLength;
    while (blob.bytes > this.#maxBlobBytes && blob.chunks.length > 0) {
      const oldest = blob.chunks.shift() as { key: string; size: number };
      blob.bytes -= oldest.size;
      batch.ops.push({ type: 'del', key: oldest.key });
    }
    // The writer of the output waits on it to pace itself (and to pause its pipe).
    return batch.done;
  }

  async *readBlobs(key: string): AsyncIterable<unknown> {
    this.#assertOpen();
    await this.#settle();
    // Newest first, up to the cap: only what is kept is ever read into memory.
    const range = blobRange(key);
    const kept: Uint8Array[] = [];
    let bytes = 0;
    let trimmed: string | undefined;
    try {
      for await (const [chunkKey, value] of this.#db.iterator({ ...range, reverse: true })) {
        if (bytes + value.byteLength > this.#maxBlobBytes) {
          trimmed = chunkKey;
          break;
        }
        bytes += value.byteLength;
        kept.push(value);
      }
      // Chunks of earlier sessions are not counted by this one's cap: what the cap
      // trims of them goes now, so a key does not grow with every restart. (This
      // session's chunks are the newest and within the cap, so none of them is here.)
      if (trimmed !== undefined && this.#failure === undefined) await this.#db.clear({ gte: range.gte, lte: trimmed });
    } catch (error) {
      throw readFailure(error, 'the output cannot be read');
    }
    for (let i = kept.length - 1; i >= 0; i--) yield decodeValue(kept[i] as Uint8Array);
  }

  closeBlob(key: string): void {
    this.#blobs.delete(key);
  }

  async dropBlobs(key: string): Promise<void> {
    this.#assertOpen();
    await this.flush();
    this.#blobs.delete(key);
    await this.#db.clear(blobRange(key));
  }

  async saveSnapshot<S>(snapshot: Snapshot<S>): Promise<void> {
    this.#assertOpen();
    if (!Number.isInteger(snapshot.seq) || snapshot.seq < 0 || snapshot.seq > this.#lastSeq) {
      throw new StoreError('STORE_INVALID_ARGUMENT', `snapshot.seq must be an integer in 0..${this.#lastSeq}`);
    }
    await this.flush();
    await this.#db.put(SNAPSHOT_KEY, encodeValue({ seq: snapshot.seq, value: snapshot.value }), { sync: true });
  }

  async loadSnapshot<S>(): Promise<Snapshot<S> | undefined> {
    this.#assertOpen();
    let bytes: Uint8Array | undefined;
    try {
      bytes = await this.#db.get(SNAPSHOT_KEY);
    } catch (error) {
      throw readFailure(error, 'the snapshot cannot be read');
    }
    if (bytes === undefined) return undefined;
    try {
      return decodeValue(bytes) as Snapshot<S>;
    } catch (cause) {
      throw new StoreError('STORE_CORRUPT', 'the snapshot cannot be decoded; move the data directory aside or restore it from a backup', { cause });
    }
  }

  async dropBelow(seq: number): Promise<number> {
    this.#assertOpen();
    if (!Number.isInteger(seq) || seq < 1) {
      throw new StoreError('STORE_INVALID_ARGUMENT', 'dropBelow needs a positive integer sequence number');
    }
    await this.flush();
    const keys: string[] = [];
    for await (const key of this.#db.keys({ gte: RECORD_PREFIX, lt: recordKey(seq) })) keys.push(key);
    if (keys.length > 0) await this.#db.batch(keys.map((key) => ({ type: 'del' as const, key })));
    return keys.length;
  }

  async flush(): Promise<void> {
    this.#assertOpen();
    // Writes now what is pending (or failed before: a try without waiting for the timer).
    this.#writeNow();
    while (this.#inFlight) await this.#writing;
    if (this.#failure !== undefined) throw this.#failure;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    // One last try for what is pending or failed before; what still cannot be written
    // was never acknowledged, and its `durable` rejects.
    this.#writeNow();
    while (this.#inFlight) await this.#writing;
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    const lost = this.#pending === undefined ? this.#unwritten : [...this.#unwritten, this.#pending];
    this.#unwritten = [];
    this.#pending = undefined;
    const reason = this.#failure ?? new StoreError('STORE_CLOSED', 'the log store is closed');
    for (const batch of lost) batch.reject(reason);
    await this.#db.close().catch(() => undefined);
    // Only now may this process open the directory again.
    releaseLocation(this.#location);
  }

  /**
   * Waits for the write in flight and what it carries on to; unlike flush() it does
   * not throw while writes fail, and does not hurry a retry: for readers.
   */
  async #settle(): Promise<void> {
    if (this.#failure === undefined) this.#writeNow();
    while (this.#inFlight) await this.#writing;
    if (this.#db.status !== 'open') {
      throw new StoreError('STORE_UNAVAILABLE', 'the log is being reopened after a failed write; try again shortly', { cause: this.#failure });
    }
  }

  /** Starts a write of what is pending (and what failed before) now, unless one is in flight (it carries on to them). */
  #writeNow(): void {
    if (this.#inFlight || (this.#pending === undefined && this.#unwritten.length === 0)) return;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#write();
  }

  #openBatch(): PendingBatch {
    let resolve!: () => void;
    let reject!: (error: unknown) => void;
    const done = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // A batch that is never written is reported by flush(); keep its rejection at
    // close from becoming an unhandled one when nobody awaits `durable`.
    done.catch(() => undefined);
    const batch: PendingBatch = { ops: [], blobs: false, done, resolve, reject };
    this.#pending = batch;
    // Group commit: with no write in flight, the batch goes once the current run of
    // code is done (every append of a synchronous burst joins it); with one in flight,
    // appends gather until it finishes and then go as one write. While writes fail,
    // they gather in this one batch and the retry timer writes it.
    if (this.#failure === undefined && !this.#inFlight) {
      queueMicrotask(() => {
        if (this.#pending === batch && this.#failure === undefined && !this.#inFlight) this.#write();
      });
    }
    return batch;
  }

  /**
   * Writes the batches that failed before and the pending one, in order, as one
   * LevelDB batch. Only one write is ever in flight. A failure keeps them all for the
   * retry timer (which reopens LevelDB first: its write errors can be sticky) and
   * leaves their `durable` pending; success settles them all.
   */
  #write(): void {
    const batches = this.#unwritten;
    this.#unwritten = [];
    if (this.#pending !== undefined) {
      batches.push(this.#pending);
      this.#pending = undefined;
    }
    if (batches.length === 0) return;
    let ops = batches.length === 1 ? (batches[0] as PendingBatch).ops : batches.flatMap((b) => b.ops);
    if (batches.some((b) => b.blobs)) ops = [...ops, { type: 'put', key: BLOB_SEQ_KEY, value: encodeValue(this.#blobSeq) }];
    this.#inFlight = true;
    this.#writing = this.#writing.then(async () => {
      try {
        if (this.#failure !== undefined) await this.#reopen();
        await this.#db.batch(ops, { sync: this.#sync });
      } catch (error) {
        this.#inFlight = false;
        const failure = writeFailure(error);
        this.#unwritten = batches;
        const first = this.#failure === undefined;
        this.#failure = failure;
        this.#scheduleRetry();
        if (first) this.#tell(() => this.#onWriteFailed?.(failure));
        return;
      }
      this.#inFlight = false;
      this.#retryDelayMs = 0;
      const recovered = this.#failure !== undefined;
      this.#failure = undefined;
      for (const batch of batches) batch.resolve();
      if (recovered) this.#tell(() => this.#onRecovered?.());
      // Appends that gathered while this write was in flight go now, as one.
      if (this.#pending !== undefined) this.#write();
    });
  }

  /** Calls a listener outside the write chain: a listener that throws cannot stop the writes. */
  #tell(listener: () => void): void {
    queueMicrotask(() => {
      try {
        listener();
      } catch {
        // the listener's own problem
      }
    });
  }

  /** Closes and opens LevelDB again: after a failed write its error may stay until then. */
  async #reopen(): Promise<void> {
    if (this.#db.status === 'open') await this.#db.close();
    await this.#db.open();
  }

  /** Tries the failed write again later, backing off up to RETRY_MAX_MS. */
  #scheduleRetry(): void {
    if (this.#retryTimer !== undefined || this.#closed) return;
    this.#retryDelayMs = Math.min(RETRY_MAX_MS, Math.max(RETRY_FIRST_MS, this.#retryDelayMs * 2));
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      if (!this.#closed) this.#writeNow();
    }, this.#retryDelayMs);
    // Not unref'd: records that wait to be written keep the process alive, as an open
    // file would; close() clears the timer.
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreError('STORE_CLOSED', 'the log store is closed');
  }
}
