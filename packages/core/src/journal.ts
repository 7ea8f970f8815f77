import { LevelLogStore, MemoryLogStore, StoreError, type AppendReceipt, type LogStore } from '@steward/store';
import { join } from 'node:path';
import { StoreCorruptError, StoreLockedError } from './errors.js';
import type { JournalRecord } from './journal-record.js';
import { applyRecord, createTaskTable, type TaskTable } from './reducer.js';
import { restoreInto, snapshotOf, type TableSnapshot } from './snapshot.js';
import type { TaskRecord } from './task-record.js';
import { isTerminal } from './types.js';

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
  durationMs: number;
}

/** How long terminal tasks are kept. */
export interface RetentionPolicy {
  readonly completedMs: number;
  /** Failed, cancelled and timed-out tasks. */
  readonly failedMs: number;
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
  readonly #ended: string[] = [];
  #endedHead = 0;
  #sinceSnapshot = 0;
  #snapshotting: Promise<void> | undefined;
  #tornTailSeq: number | undefined;
  #watched: Promise<void> | undefined;
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
      });
      journal = new Journal(store, true, options.agingMs, options.snapshotEvery);
      return journal;
    } catch (error) {
      throw translateStoreError(error, options.dataDir);
    }
  }

  /** Appends a record and folds it into the table; returns the task it touched. */
  commit(record: JournalRecord): { task: TaskRecord | undefined; receipt: AppendReceipt } {
    const receipt = this.store.append([record]);
    // Records of one turn share one batch and one promise: watch each batch once.
    if (receipt.durable !== this.#watched) {
      this.#watched = receipt.durable;
      receipt.durable.catch((error: unknown) => this.onWriteFailed?.(error));
    }
    this.#sinceSnapshot++;
    const task = applyRecord(this.table, record);
    if (task !== undefined && task.endedAt !== undefined && (record.type === 'attempt:ended' || record.type === 'task:cancelled' || record.type === 'attempt:interrupted')) {
      this.#ended.push(task.id);
    }
    return { task, receipt };
  }

  /**
   * True when enough records have gone by since the last snapshot: `snapshotEvery`,
   * or as many as there are tasks if that is more, so the cost of copying the table
   * stays a constant share of the cost of writing the records.
   */
  get snapshotDue(): boolean {
    return this.#sinceSnapshot >= Math.max(this.#snapshotEvery, this.table.tasks.size) && this.#snapshotting === undefined;
  }

  /** Loads the newest snapshot and replays every later record into the table. */
  async recover(now: () => number): Promise<RecoveryReport> {
    const started = now();
    let snapshotSeq = 0;
    let replayed = 0;
    try {
      const snapshot = await this.store.loadSnapshot<TableSnapshot>();
      if (snapshot !== undefined) {
        restoreInto(this.table, snapshot.value);
        snapshotSeq = snapshot.seq;
      }
      for await (const record of this.store.read({ fromSeq: snapshotSeq + 1 })) {
        applyRecord(this.table, record.value as JournalRecord);
        replayed++;
      }
    } catch (error) {
      throw translateStoreError(error, 'the data directory');
    }
    this.#sinceSnapshot = replayed;
    const ended = [...this.table.tasks.values()].filter((t) => isTerminal(t.status) && t.endedAt !== undefined);
    ended.sort((a, b) => (a.endedAt as number) - (b.endedAt as number));
    for (const task of ended) this.#ended.push(task.id);
    return {
      snapshotSeq,
      replayedRecords: replayed,
      tasks: this.table.tasks.size,
      ...(this.#tornTailSeq === undefined ? {} : { tornTailSeq: this.#tornTailSeq }),
      durationMs: now() - started,
    };
  }

  /**
   * Drops terminal tasks past retention from the table, then snapshots the table
   * and deletes the records below the snapshot. Returns the ids dropped.
   */
  compact(now: number, retention: RetentionPolicy): { dropped: string[]; done: Promise<void> } {
    const dropped = this.#applyRetention(now, retention);
    // Taken synchronously: the snapshot is the table at exactly this sequence number.
    const seq = this.store.lastSeq;
    this.#sinceSnapshot = 0;
    const done = (async () => {
      // The runtime's own memory store is never replayed: it needs no snapshot, only
      // to let go of its records.
      if (this.#snapshots) await this.store.saveSnapshot({ seq, value: snapshotOf(this.table) });
      if (seq > 0) await this.store.dropBelow(seq + 1);
    })();
    this.#snapshotting = done.finally(() => {
      this.#snapshotting = undefined;
    });
    return { dropped, done };
  }

  /** Forgets ended tasks older than their retention, oldest first. */
  #applyRetention(now: number, retention: RetentionPolicy): string[] {
    const dropped: string[] = [];
    const keepMs = Math.min(retention.completedMs, retention.failedMs);
    const skipped: string[] = [];
    while (this.#endedHead < this.#ended.length) {
      const id = this.#ended[this.#endedHead] as string;
      const task = this.table.tasks.get(id);
      if (task !== undefined && isTerminal(task.status) && task.endedAt !== undefined) {
        const age = now - task.endedAt;
        // The queue is in end order, so once the youngest bound is not reached, stop.
        if (age < keepMs) break;
        const limit = task.status === 'completed' ? retention.completedMs : retention.failedMs;
        if (age >= limit) {
          this.table.tasks.delete(id);
          for (const deliveryId of this.table.deliveriesByOwner.get(id) ?? []) this.table.deliveries.delete(deliveryId);
          this.table.deliveriesByOwner.delete(id);
          if (task.idempotencyKey !== undefined && this.table.byIdempotencyKey.get(task.idempotencyKey) === id) {
            this.table.byIdempotencyKey.delete(task.idempotencyKey);
          }
          dropped.push(id);
        } else {
          skipped.push(id); // kept longer by its own status: look again next time
        }
      }
      this.#endedHead++;
    }
    if (this.#endedHead > 1024 && this.#endedHead * 2 > this.#ended.length) {
      this.#ended.splice(0, this.#endedHead);
      this.#endedHead = 0;
    }
    if (skipped.length > 0) this.#ended.splice(this.#endedHead, 0, ...skipped);
    return dropped;
  }

  /** Waits for a snapshot in progress, if any. */
  async settled(): Promise<void> {
    await this.#snapshotting?.catch(() => undefined);
  }
}

/** Maps what the store throws onto the library's error codes. */
function translateStoreError(error: unknown, where: string): unknown {
  if (!(error instanceof StoreError)) return error;
  if (error.code === 'STORE_LOCKED') return new StoreLockedError(where, { cause: error });
  if (error.code === 'STORE_CORRUPT') return new StoreCorruptError(`the journal in ${where} is damaged: ${error.message}`, { cause: error });
  return error;
}
