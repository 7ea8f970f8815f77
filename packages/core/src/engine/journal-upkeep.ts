import type { RuntimeEvent } from '../events/events.js';
import type { Journal } from '../journal/journal.js';
import type { ResolvedRuntimeOptions } from '../model/options.js';
import type { TaskOutput } from '../output/task-output.js';

/**
 * Keeping the journal small and closing it: a snapshot with compaction and retention
 * when enough records went by (off the hot path, one at a time), what a failed
 * snapshot means (logged, evented, survived), and the last snapshot at shutdown.
 */
export class JournalUpkeep {
  readonly #journal: Journal;
  readonly #options: ResolvedRuntimeOptions;
  readonly #output: TaskOutput;
  readonly #emit: (event: RuntimeEvent) => void;
  readonly #stopped: () => boolean;
  #queued = false;

  constructor(journal: Journal, options: ResolvedRuntimeOptions, output: TaskOutput, emit: (event: RuntimeEvent) => void, stopped: () => boolean) {
    this.#journal = journal;
    this.#options = options;
    this.#output = output;
    this.#emit = emit;
    this.#stopped = stopped;
  }

  /** After each commit: a snapshot one turn later when one is due. */
  afterCommit(): void {
    if (!this.#journal.snapshotDue || this.#queued) return;
    this.#queued = true;
    setImmediate(() => void this.#compact());
  }

  /** A snapshot failed: logged and evented; the journal carries on without it. */
  snapshotFailed(error: unknown, consequence: string): void {
    this.#options.logger.warn(`steward: a journal snapshot failed; ${consequence}`, error);
    const { code, message } = error as { code?: unknown; message?: unknown };
    this.#emit({ type: 'journal:snapshot-failed', code: typeof code === 'string' ? code : 'STEWARD_STORE_UNAVAILABLE', message: String(message), at: this.#options.clock.now() });
  }

  /**
   * Shutdown, last of all: a snapshot when the journal was recovered (so the next
   * start replays little), the output lines gathered for the store, and the store
   * itself unless the caller passed it in (then it is the caller's to close).
   */
  async close(recovered: boolean): Promise<void> {
    const journal = this.#journal;
    await journal.settled();
    if (journal.persistent && recovered) {
      this.#queued = false;
      const { done } = journal.compact(this.#options.clock.now(), this.#options.retention);
      await done.catch((error: unknown) => this.snapshotFailed(error, 'the next start replays the journal from the last snapshot'));
    }
    this.#output.flush();
    await journal.store.flush().catch(() => undefined);
    if (this.#options.store === undefined) await journal.store.close();
  }

  #compact(): Promise<void> {
    this.#queued = false;
    if (this.#stopped()) return Promise.resolve();
    const { dropped, done } = this.#journal.compact(this.#options.clock.now(), this.#options.retention);
    for (const id of dropped) this.#output.drop(id);
    return done.catch((error: unknown) => this.snapshotFailed(error, 'the journal keeps growing until the next one succeeds'));
  }
}
