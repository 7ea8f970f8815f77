import { isTerminal } from '../model/types.js';
import type { TaskTable } from './reducer.js';

const NONE: readonly string[] = [];

/** How long terminal tasks are kept. */
export interface RetentionPolicy {
  readonly completedMs: number;
  /** Failed, cancelled and timed-out tasks. */
  readonly failedMs: number;
}

/**
 * The ended tasks of a table in the order they ended, so that retention forgets the
 * oldest without scanning the table (the journal's, and a cluster node's replica's).
 */
export class EndedTasks {
  readonly #ids: string[] = [];
  #head = 0;

  push(id: string): void {
    this.#ids.push(id);
  }

  /** Forgets from `table` the ended tasks older than their retention at `now`, oldest first; returns their ids. */
  drop(table: TaskTable, now: number, retention: RetentionPolicy): readonly string[] {
    const keepMs = Math.min(retention.completedMs, retention.failedMs);
    // Called for every record a cluster node applies: nothing is allocated when nothing is due.
    let dropped: string[] | undefined;
    let skipped: string[] | undefined;
    while (this.#head < this.#ids.length) {
      const id = this.#ids[this.#head] as string;
      const task = table.tasks.get(id);
      if (task !== undefined && isTerminal(task.status) && task.endedAt !== undefined) {
        const age = now - task.endedAt;
        // The queue is in end order, so once the youngest bound is not reached, stop.
        if (age < keepMs) break;
        const limit = task.status === 'completed' ? retention.completedMs : retention.failedMs;
        if (age >= limit) {
          table.tasks.delete(id);
          for (const deliveryId of table.deliveriesByOwner.get(id) ?? []) table.deliveries.delete(deliveryId);
          table.deliveriesByOwner.delete(id);
          if (task.idempotencyKey !== undefined && table.byIdempotencyKey.get(task.idempotencyKey) === id) {
            table.byIdempotencyKey.delete(task.idempotencyKey);
          }
          (dropped ??= []).push(id);
        } else {
          (skipped ??= []).push(id); // kept longer by its own status: look again next time
        }
      }
      this.#head++;
    }
    if (this.#head > 1024 && this.#head * 2 > this.#ids.length) {
      this.#ids.splice(0, this.#head);
      this.#head = 0;
    }
    if (skipped !== undefined) this.#ids.splice(this.#head, 0, ...skipped);
    return dropped ?? NONE;
  }
}
