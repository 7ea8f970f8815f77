import type { LogStore } from '@steward/store';
import type { FeedEvent, FeedPosition } from './event-feed.js';
import type { RuntimeEvent } from './events.js';
import type { JournalRecord } from '../journal/journal-record.js';
import { applyRecord, createTaskTable } from '../journal/reducer.js';
import { recordToEvents, workflowMarks } from './record-events.js';
import { restoreInto, type TableSnapshot } from '../journal/snapshot.js';

/**
 * The journaled events after `after`, oldest first, with the ids the live feed gave
 * them: the journal is folded again into a table of its own (from the newest
 * snapshot at or before `after`, else from the first record) and each record after
 * `after` yields what {@link recordToEvents} makes of it at that point, the same
 * function the live feed applies to the same state, so a replayed event equals the
 * live one. When the records before the newest snapshot are gone (compaction) and
 * `after` is older than it, the replay starts after the snapshot: what lay between
 * is no longer in the journal.
 */
export async function* replayJournalEvents(store: LogStore, agingMs: number, after: FeedPosition): AsyncIterable<FeedEvent & { seq: number }> {
  const table = createTaskTable(agingMs);
  const snapshot = await store.loadSnapshot<TableSnapshot>();
  let from = 1;
  if (snapshot !== undefined) {
    let first: number | undefined;
    if (snapshot.seq > after.seq) {
      for await (const record of store.read({ fromSeq: 1 })) {
        first = record.seq;
        break;
      }
    }
    // Fold from the snapshot when it is not past the resume point, or when what lies before it is gone.
    if (snapshot.seq <= after.seq || first !== 1) {
      restoreInto(table, snapshot.value);
      from = snapshot.seq + 1;
    }
  }
  for await (const { seq, value } of store.read({ fromSeq: from })) {
    const record = value as JournalRecord;
    const wanted = seq > after.seq || (seq === after.seq && after.index !== undefined);
    const before = wanted ? workflowMarks(record, table) : undefined;
    applyRecord(table, record);
    const changed = table.changed.splice(0);
    if (!wanted) continue;
    const events = recordToEvents(record, table, changed, before);
    const start = seq === after.seq ? (after.index as number) + 1 : 0;
    for (let n = start; n < events.length; n++) yield { seq, id: `${seq}.${n}`, event: events[n] as RuntimeEvent };
  }
}
