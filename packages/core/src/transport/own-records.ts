import { JOURNAL_VERSION, type JournalRecord, type NewRecord } from '../journal/journal-record.js';
import type { Logger } from '../model/logger.js';
import type { ClusterBackend } from './cluster-backend.js';
import type { ClusterReplica } from './cluster-replica.js';

/**
 * Records a cluster node writes outside its engine (schedules, webhooks, workflows): into
 * its replica at once, since the service that commits one reads the table right after,
 * and then to the shared journal, all the records of one turn in one append (so a
 * workflow's start and its tasks' submissions are stored together or not at all; appends
 * keep their order; the copies that come back are skipped). A command answers with
 * `stored()`: once what was written since the last answer is in the store, or with the
 * error of a write that failed.
 */
export class OwnRecords {
  readonly #backend: ClusterBackend;
  readonly #replica: ClusterReplica;
  readonly #logger: Logger;
  #writes: Array<Promise<unknown>> = [];
  /** The records of this turn, and their append. */
  #turn: { records: JournalRecord[]; stored: Promise<void> } | undefined;

  constructor(backend: ClusterBackend, replica: ClusterReplica, logger: Logger) {
    this.#backend = backend;
    this.#replica = replica;
    this.#logger = logger;
  }

  commit(record: NewRecord): void {
    this.track(this.write(record), `a ${record.type} record`);
  }

  /** Into the replica now and into this turn's append; resolves once the store has it. */
  write(record: NewRecord | JournalRecord): Promise<void> {
    const full = ('v' in record ? record : { v: JOURNAL_VERSION, ...record }) as JournalRecord;
    this.#replica.applyOwn([full]);
    if (this.#turn === undefined) {
      const records: JournalRecord[] = [];
      const stored = Promise.resolve().then(() => {
        this.#turn = undefined;
        return this.#backend.append(records);
      });
      this.#turn = { records, stored };
    }
    this.#turn.records.push(full);
    return this.#turn.stored;
  }

  /** A write on its way to the store (logged if it fails), which the next answer waits for. */
  track(written: Promise<unknown>, what: string): void {
    written.catch((error: unknown) => this.#logger.warn(`steward: could not store ${what}`, error));
    this.#writes.push(written);
  }

  async stored(): Promise<void> {
    await Promise.all(this.#writes.splice(0));
  }
}
