import { prepareSubmission, type SubmitInternal } from '../engine/submission.js';
import { JOURNAL_VERSION, type JournalRecord } from '../journal/journal-record.js';
import type { ResolvedRuntimeOptions } from '../model/options.js';
import type { SubmitOptions } from '../model/submit-options.js';
import type { ResolvedDefinition } from '../model/task-definition.js';
import type { TaskRecord } from '../model/task-record.js';
import type { ClusterBackend } from './cluster-backend.js';
import type { ClusterReplica } from './cluster-replica.js';

/**
 * At most this many submissions of one turn go in one append: a burst goes out in
 * chunks, one after another, so the first tasks can be claimed while the rest are
 * still being written.
 */
const SUBMIT_CHUNK = 256;

/** What submissions need from the cluster node. */
export interface ClusterSubmissionsHost {
  readonly backend: ClusterBackend;
  readonly replica: ClusterReplica;
  readonly options: ResolvedRuntimeOptions;
  /** This node's definition of a type, or the stand-in for a type another node defines. */
  definitionFor(type: string): ResolvedDefinition;
}

/**
 * Submissions in cluster mode: checked as on one machine (against the cluster's table and
 * queue), appended to the shared journal and put in the claim queue; `maxQueue` counts
 * the cluster's waiting tasks and this node's submissions still on their way.
 */
export class ClusterSubmissions {
  readonly #host: ClusterSubmissionsHost;
  /** Submissions of this node not yet in its replica (appends on their way). */
  #unapplied = 0;
  #submitBatch: { records: Array<JournalRecord & { type: 'task:submitted' }>; done: Promise<void> } | undefined;

  constructor(host: ClusterSubmissionsHost) {
    this.#host = host;
  }

  /** A submission: the answer now, `durable` once it is stored (see `#batch`). */
  submit(type: string, input: unknown, options: SubmitOptions | undefined): { task: Readonly<TaskRecord>; durable: Promise<void> } {
    const prepared = this.#prepare(type, input, options);
    if ('existing' in prepared) return { task: prepared.existing, durable: this.#host.backend.caughtUp() };
    const submitted = prepared.task;
    const record = { v: JOURNAL_VERSION, type: 'task:submitted', at: this.#host.options.clock.now(), task: submitted } as const;
    // The id is read once `durable` settles: an idempotency key another node reserved first names its task.
    const answer = { id: submitted.id, type };
    const durable = (async () => {
      if (submitted.idempotencyKey !== undefined) {
        const holder = await this.#host.backend.reserve(submitted.idempotencyKey, submitted.id);
        if (holder !== submitted.id) {
          answer.id = holder;
          await this.#host.backend.caughtUp();
          return;
        }
      }
      await this.#batch(record);
    })();
    return { task: answer as unknown as TaskRecord, durable };
  }

  #prepare(type: string, input: unknown, options: SubmitOptions | undefined, internal?: SubmitInternal): ReturnType<typeof prepareSubmission> {
    const definitions = { get: (t: string) => this.#host.definitionFor(t) } as ReadonlyMap<string, ResolvedDefinition>;
    // maxQueue holds for the cluster: what waits there, and what this node has submitted that is not in yet.
    const waiting = this.#host.replica.pending + this.#unapplied;
    return prepareSubmission(type, input, options, { definitions, table: this.#host.replica.table, waiting, runtime: this.#host.options }, internal);
  }

  /**
   * A workflow's task: written by `write` (into the replica at once, since the next of its
   * workflow names it, and stored with the other records of its turn), then enqueued.
   */
  submitNow(type: string, input: unknown, options: SubmitOptions, internal: SubmitInternal, write: (record: JournalRecord) => Promise<void>): { task: Readonly<TaskRecord>; stored: Promise<void> } {
    const prepared = this.#prepare(type, input, options, internal);
    if ('existing' in prepared) return { task: prepared.existing, stored: Promise.resolve() };
    const written = write({ v: JOURNAL_VERSION, type: 'task:submitted', at: this.#host.options.clock.now(), task: prepared.task });
    const task = this.#host.replica.table.tasks.get(prepared.task.id) as TaskRecord;
    const stored = written.then(() => (task.status === 'queued' ? this.#host.backend.enqueue([{ id: task.id, type: task.type, priority: task.priority }]) : undefined));
    return { task, stored };
  }

  /**
   * The submissions of one turn, appended as one batch and then enqueued: one write to
   * the shared journal however many are submitted at once. Known here as soon as they are
   * appended (the copies that come back through the journal are skipped), so rt.get
   * answers as soon as submit does.
   */
  #batch(record: JournalRecord & { type: 'task:submitted' }): Promise<void> {
    if (this.#submitBatch === undefined || this.#submitBatch.records.length >= SUBMIT_CHUNK) {
      const records: Array<JournalRecord & { type: 'task:submitted' }> = [];
      const done = Promise.resolve().then(async () => {
        if (this.#submitBatch?.records === records) this.#submitBatch = undefined;
        try {
          await this.#host.backend.append(records);
          this.#host.replica.apply(records);
        } finally {
          this.#unapplied -= records.length;
        }
        // Those that wait for dependencies are enqueued when these end (#ready); those a failed one failed, never.
        const ready = records.filter(({ task }) => this.#host.replica.table.tasks.get(task.id)?.status === 'queued');
        await this.#host.backend.enqueue(ready.map(({ task }) => ({ id: task.id, type: task.type, priority: task.priority })));
      });
      this.#submitBatch = { records, done };
    }
    this.#submitBatch.records.push(record);
    this.#unapplied++;
    return this.#submitBatch.done;
  }
}
