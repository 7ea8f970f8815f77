import type { RuntimeEvent } from '../events/events.js';
import { Journal } from '../journal/journal.js';
import type { ResolvedRuntimeOptions } from '../model/options.js';

/**
 * Opens the runtime's journal (its data directory or the store passed in) with the
 * warnings and events of its own troubles: a torn last record (kept in `torn` for the
 * event recovery sends), a write that fails, and writing that works again. Events
 * go to `events.emit` once the engine that owns them has set it.
 */
export async function openJournal(options: ResolvedRuntimeOptions, events: { emit?: (event: RuntimeEvent) => void }): Promise<{ journal: Journal; torn: number[] }> {
  const { logger, clock } = options;
  const torn: number[] = [];
  const journal = await Journal.open({
    dataDir: options.dataDir,
    store: options.store,
    durability: options.durability,
    agingMs: options.agingMs,
    snapshotEvery: options.snapshotEvery,
    maxOutputBytes: options.maxOutputBytes,
    onTornTail: (seq, cause) => {
      torn.push(seq);
      logger.warn(`steward: journal record ${seq} at the tail could not be decoded (a torn last write); replay stopped before it`, cause);
    },
    onWriteFailed: (error) => {
      logger.warn(`steward: the journal cannot be written (${error.code}); submissions are refused and what is pending is retried until it can`, error);
      events.emit?.({ type: 'journal:write-failed', code: error.code, message: error.message, at: clock.now() });
    },
    onRecovered: () => {
      logger.warn('steward: the journal can be written again; submissions are accepted');
      events.emit?.({ type: 'journal:write-recovered', at: clock.now() });
    },
  });
  return { journal, torn };
}
