import type { Level } from 'level';
import { decodeValue, RECORD_PREFIX, recordKey, seqOf, SNAPSHOT_KEY } from './level-layout.js';
import type { LogRecord } from './log-store.js';
import { readFailure, StoreError } from './store-error.js';

/** Where a read ended: an undecodable record at the very tail (a torn last write), if any. */
export interface TailState {
  bad?: { seq: number; cause: unknown };
}

/**
 * Decodes the records of a LevelDB log from `from`, in order. A record that cannot be
 * decoded with records after it is damage: STORE_CORRUPT, or with `onBadRecord`
 * (salvage) reported and skipped. One at the tail is left in `tail.bad` for the
 * caller. What LevelDB throws becomes a StoreError with the cause attached.
 */
export async function* decodeRecords<T>(
  db: Level<string, Uint8Array>,
  from: number,
  onBadRecord: ((seq: number, cause: unknown) => void) | undefined,
  tail: TailState,
): AsyncGenerator<LogRecord<T>> {
  const iterator = db.iterator({ gte: recordKey(from), lt: `${RECORD_PREFIX}~` });
  try {
    while (true) {
      let entry: [string, Uint8Array] | undefined;
      try {
        entry = await iterator.next();
      } catch (error) {
        throw readFailure(error, 'the journal cannot be read');
      }
      if (entry === undefined) break;
      const [key, bytes] = entry;
      const seq = seqOf(key);
      if (tail.bad !== undefined) {
        if (onBadRecord === undefined) {
          throw new StoreError(
            'STORE_CORRUPT',
            `record ${tail.bad.seq} cannot be decoded and records follow it; restore the data directory from a backup, or open it with recovery.onCorruption 'salvage' to keep what is readable`,
            { cause: tail.bad.cause },
          );
        }
        onBadRecord(tail.bad.seq, tail.bad.cause);
        delete tail.bad;
      }
      let value: T;
      try {
        value = decodeValue(bytes) as T;
      } catch (cause) {
        tail.bad = { seq, cause };
        continue;
      }
      yield { seq, value };
    }
  } finally {
    await iterator.close().catch(() => undefined);
  }
}

/**
 * The sequence number the log has reached: its newest record, or the snapshot's when
 * compaction dropped every record below it (numbering must go on above the snapshot:
 * a record below it would never be replayed).
 */
export async function lastSeqOf(db: Level<string, Uint8Array>): Promise<number> {
  let last = 0;
  for await (const key of db.keys({ gte: RECORD_PREFIX, lt: `${RECORD_PREFIX}~`, reverse: true, limit: 1 })) last = seqOf(key);
  const snapshot = await db.get(SNAPSHOT_KEY);
  if (snapshot !== undefined) {
    try {
      const seq = (decodeValue(snapshot) as { seq?: unknown }).seq;
      if (typeof seq === 'number' && seq > last) last = seq;
    } catch {
      // An unreadable snapshot is reported by loadSnapshot().
    }
  }
  return last;
}
