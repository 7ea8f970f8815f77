import { LevelLogStore, MemoryLogStore, type AppendReceipt, type LogStore } from '@steward/store';
import { join } from 'node:path';
import { StewardError, StoreCorruptError, StoreVersionError } from '../model/errors.js';
import { translateStoreError } from './store-errors.js';
import { JOURNAL_VERSION, type JournalRecord, type NewRecord } from './journal-record.js';
import { applyRecord, createTaskTable, type TaskTable } from './reducer.js';
import { restoreInto, snapshotOf, type TableSnapshot } from './snapshot.js';
import type { TaskRecord } from '../model/task-record.js';
import { isTerminal } from '../model/types.js';
import { EndedTasks, type RetentionPolicy } from './ended-tasks.js';

export type { RetentionPolicy } from './ended-tasks.js';

const RESOLVED: Promise<void> = Promise.resolve();

/** What recovery found on open. */
export interface RecoveryReport {
  /** Sequence number of the snapshot loaded, or 0 without one. */
  snapshotSeq: number;
  /** Journal records replayed after the snapshot. */
  replayedRecords: number;
  /** Tasks known after replay. */
  tasks: number;
  /** Sequence number of an undecodable tail record that replay stopped before. */
  tornTailSeq?: number;
  /**
   * What a salvage (`recovery.onCorruption: 'salvage'`) could not keep: the ranges of
   * journal records missing or unreadable, and the tasks that later records name but
   * whose submission was among them. Absent when nothing was lost.
   */
  lost?: { records: number; ranges: Array<{ from: number; to: number }>; taskIds: string[] };
  durationMs: number;
}

/**
 * The journal: the task table and the log it is rebuilt from. `commit` appends a
 * record and folds it into the table in the same synchronous step, so the table
 * is always the fold of the log up to `store.lastSeq`. It also takes snapshots,
 * compacts the log below them and applies retention.
 */
export class Journal {
  readonly table: TaskTable;
  readonly store: LogStore;
  /** True when the store keeps data across processes (a data directory). */
  readonly persistent: boolean;
  /** False for the runtime's own memory store, which nothing is ever recovered from. */
  readonly #snapshots: boolean;
  readonly #snapshotEvery: number;
  /** Ids of tasks in the order they ended, for retention without scanning the table. */
  readonly #ended = new EndedTasks();
  #sinceSnapshot = 0;
  #snapshotting: Promise<void> | undefined;
  #tornTailSeq: number | undefined;
  #watched: Promise<void> | undefined;
  #watchedTranslated: Promise<void> | undefined;
  /** The last sequence number of the batch being watched (it grows while the turn lasts). */
  #watchedMark = { seq: 0 };
  /** Every record up to here has reached the store (LevelDB, or the disk in strict mode). */
  #durableSeq = 0;
  /** Told when a batch of the journal could not be written (its supervisor restarts the writer). */
  onWriteFailed: ((error: unknown) => void) | undefined;

  private constructor(store: LogStore, persistent: boolean, agingMs: number, snapshotEvery: number, snapshots = true) {
    this.store = store;
    this.persistent = persistent;
    this.#snapshots = snapshots;
    this.table = createTaskTable(agingMs);
    this.#snapshotEvery = snapshotEvery;
  }

  /** Opens the journal: in `dataDir` (LevelDB), on a given store, or in memory. */
  static async open(options: {
    dataDir: string | undefined;
    store: LogStore | undefined;
    durability: 'batched' | 'strict';
    agingMs: number;
    snapshotEvery: number;
    maxOutputBytes: number;
    onTornTail: (seq: number, cause: unknown) => void;
    /** Told when writes start failing (a full disk) and when they work again. */
    onWriteFailed?: (error: StewardError) => void;
    onRecovered?: () => void;
  }): Promise<Journal> {
    if (options.dataDir === undefined) {
      return options.store === undefined
        ? new Journal(new MemoryLogStore(), false, options.agingMs, options.snapshotEvery, false)
        : new Journal(options.store, false, options.agingMs, options.snapshotEvery);
    }
    let journal: Journal | undefined;
    try {
      const store = await LevelLogStore.open(join(options.dataDir, 'journal'), {
        durability: options.durability,
        maxBlobBytes: options.maxOutputBytes,
        onTornTail: (seq, cause) => {
          if (journal !== undefined) journal.#tornTailSeq = seq;
          options.onTornTail(seq, cause);
        },
        onWriteFailed: (error) => options.onWriteFailed?.(translateStoreError(error, options.dataDir as string) as StewardError),
        ...(options.onRecovered === undefined ? {} : { onRecovered: options.onRecovered }),
      });
      journal = new Journal(store, true, options.agingMs, options.snapshotEvery);
      return journal;
    } catch (error) {
      throw translateStoreError(error, options.dataDir);
    }
  }

  /**
   * The error that stops writes now (a full disk), as a StewardError, or undefined
   * while the journal can be written.
   */
  get writeFailure(): StewardError | undefined {
    const failure = this.store.failure;
    return failure === undefined ? undefined : (translateStoreError(failure, 'the data directory') as StewardError);
  }

  /**
   * Stamps the record with the journal's format version, appends it and folds it into
   * the table; returns the task it touched and the receipt, whose `durable` rejects
   * with a StewardError (STEWARD_STORE_FULL, say). The record is the caller's fresh
   * object: it is stamped in place rather than copied.
   */
  commit(body: NewRecord): { task: TaskRecord | undefined; receipt: AppendReceipt } {
    const record = body as JournalRecord;
    (record as { v: number }).v = JOURNAL_VERSION;
    let receipt = this.store.append([record]);
    // Records of one turn share one batch and one promise: watch each batch once,
    // and hand out one translated promise for all of them.
    if (receipt.durable !== this.#watched) {
      this.#watched = receipt.durable;
      const mark = { seq: receipt.lastSeq };
      this.#watchedMark = mark;
      this.#watchedTranslated = receipt.durable.then(
        () => {
          if (mark.seq > this.#durableSeq) this.#durableSeq = mark.seq;
        },
        (error: unknown) => {
          this.onWriteFailed?.(error);
          throw translateStoreError(error, 'the data directory');
        },
      );
      this.#watchedTranslated.catch(() => undefined);
    } else {
      this.#watchedMark.seq = receipt.lastSeq;
    }
    receipt = { firstSeq: receipt.firstSeq, lastSeq: receipt.lastSeq, durable: this.#watchedTranslated as Promise<void> };
    this.#sinceSnapshot++;
    const task = applyRecord(this.table, record);
    // A submission can end at once too: its dependency had already failed.
    if (task !== undefined && task.endedAt !== undefined && (record.type === 'attempt:ended' || record.type === 'task:cancelled' || record.type === 'attempt:interrupted' || (record.type === 'task:submitted' && isTerminal(task.status)))) {
      this.#ended.push(task.id);
    }
    // Dependents the record ended with it (failed by a failed dependency) age out the same way.
    for (const other of this.table.changed) if (isTerminal(other.status)) this.#ended.push(other.id);
    return { task, receipt };
  }

  /**
   * Settles once every record appended so far is as durable as the store promises
   * (batches are written in order, and a failed one goes first in the next): what an
   * idempotent resubmit waits for, so it is never acknowledged before the first.
   */
  durableThroughLast(): Promise<void> {
    if (this.store.lastSeq <= this.#durableSeq || this.#watchedTranslated === undefined) return RESOLVED;
    return this.#watchedTranslated;
  }

  /**
   * True when enough records have gone by since the last snapshot: `snapshotEvery`,
   * or as many as there are tasks if that is more, so the cost of copying the table
   * stays a constant share of the cost of writing the records.
   */
  get snapshotDue(): boolean {
    return this.#sinceSnapshot >= Math.max(this.#snapshotEvery, this.table.tasks.size) && this.#snapshotting === undefined;
  }

  /**
   * Loads the newest snapshot and replays every later record into the table. The
   * records after a snapshot are numbered without a gap (compaction only drops
   * records below it), so a gap, or a record that cannot be read, is damage: refused
   * with STEWARD_STORE_CORRUPT, or with `onCorruption: 'salvage'` skipped and
   * reported in the recovery report's `lost`. A record of a newer format than this
   * version writes is refused with STEWARD_STORE_VERSION, salvage or not.
   */
  async recover(now: () => number, onCorruption: 'refuse' | 'salvage'): Promise<RecoveryReport> {
    const started = now();
    let snapshotSeq = 0;
    let replayed = 0;
    const salvage = onCorruption === 'salvage';
    const ranges: Array<{ from: number; to: number }> = [];
    const orphans = new Set<string>();
    try {
      const snapshot = await this.store.loadSnapshot<TableSnapshot>();
      if (snapshot !== undefined) {
        restoreInto(this.table, snapshot.value);
        snapshotSeq = snapshot.seq;
      }
      let expected = snapshotSeq + 1;
      const read = this.store.read(salvage ? { fromSeq: expected, onBadRecord: () => undefined } : { fromSeq: expected });
      for await (const { seq, value } of read) {
        if (seq !== expected) {
          if (!salvage) {
            throw new StoreCorruptError(
              `the journal is damaged: records ${expected}..${seq - 1} are missing between records that are there (LevelDB dropped a damaged part of its files). ` +
                "Restore the data directory from a backup, or open it with recovery: { onCorruption: 'salvage' } to keep what is readable (rt.recovery.lost then lists what was lost).",
            );
          }
          ranges.push({ from: expected, to: seq - 1 });
        }
        expected = seq + 1;
        const record = value as JournalRecord;
        const version = (record as { v?: unknown } | undefined)?.v;
        if (typeof version !== 'number' || version > JOURNAL_VERSION) {
          throw new StoreVersionError(
            `journal record ${seq} has format version ${String(version)}, and this version of Steward reads versions up to ${JOURNAL_VERSION}: open the data directory with a newer Steward`,
          );
        }
        const taskId = (record as { taskId?: unknown }).taskId;
        const task = applyRecord(this.table, record);
        if (salvage && ranges.length > 0 && task === undefined && typeof taskId === 'string' && !this.table.tasks.has(taskId)) orphans.add(taskId);
        replayed++;
      }
    } catch (error) {
      throw translateStoreError(error, 'the data directory');
    }
    const lostRecords = ranges.reduce((sum, r) => sum + r.to - r.from + 1, 0);
    this.#sinceSnapshot = replayed;
    this.#durableSeq = this.store.lastSeq;
    const ended = [...this.table.tasks.values()].filter((t) => isTerminal(t.status) && t.endedAt !== undefined);
    ended.sort((a, b) => (a.endedAt as number) - (b.endedAt as number));
    for (const task of ended) this.#ended.push(task.id);
    return {
      snapshotSeq,
      replayedRecords: replayed,
      tasks: this.table.tasks.size,
      ...(this.#tornTailSeq === undefined ? {} : { tornTailSeq: this.#tornTailSeq }),
      ...(ranges.length === 0 ? {} : { lost: { records: lostRecords, ranges, taskIds: [...orphans] } }),
      durationMs: now() - started,
    };
  }

  /**
   * Drops terminal tasks past retention from the table, then snapshots the table
   * and deletes the records below the snapshot. Returns the ids dropped.
   */
  compact(now: number, retention: RetentionPolicy): { dropped: readonly string[]; done: Promise<void> } {
    const dropped = this.#ended.drop(this.table, now, retention);
    // Taken synchronously: the snapshot is the table at exactly this sequence number.
    const seq = this.store.lastSeq;
    this.#sinceSnapshot = 0;
    const done = (async () => {
      // The runtime's own memory store is never replayed: it needs no snapshot, only
      // to let go of its records.
      if (this.#snapshots) await this.store.saveSnapshot({ seq, value: snapshotOf(this.table) });
      if (seq > 0) await this.store.dropBelow(seq + 1);
    })();
    // Settles either way, so a failed snapshot is never an unhandled rejection; the
    // caller hears of the failure through `done`, and the journal carries on without
    // the snapshot until one succeeds.
    const clear = (): void => {
      this.#snapshotting = undefined;
    };
    this.#snapshotting = done.then(clear, clear);
    return { dropped, done: done.catch((error: unknown) => Promise.reject(translateStoreError(error, 'the data directory'))) };
  }

  /** Waits for a snapshot in progress, if any. */
  async settled(): Promise<void> {
    await this.#snapshotting?.catch(() => undefined);
  }
}
