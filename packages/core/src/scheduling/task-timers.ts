import type { Clock } from '../time/clock.js';

/**
 * At most one timer per task, on the runtime's clock (the timer wheel, which also
 * takes delays longer than Node's timers do): a retry's backoff, a sleep's end, a
 * signal's timeout. Kept in memory only: recovery arms them again from the task table.
 */
export class TaskTimers {
  readonly #clock: Clock;
  readonly #timers = new Map<string, unknown>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Tasks with a timer. */
  get size(): number {
    return this.#timers.size;
  }

  /** Calls `due` after `delayMs`, unless cleared first; replaces the task's timer. */
  arm(taskId: string, delayMs: number, due: () => void): void {
    this.clear(taskId);
    this.#timers.set(
      taskId,
      this.#clock.setTimeout(() => {
        this.#timers.delete(taskId);
        due();
      }, delayMs),
    );
  }

  /** Calls `due` at `until` (epoch ms; at once when it is past), unless cleared first. */
  armAt(taskId: string, until: number, due: () => void): void {
    this.arm(taskId, Math.max(0, until - this.#clock.now()), due);
  }

  clear(taskId: string): void {
    const handle = this.#timers.get(taskId);
    if (handle === undefined) return;
    this.#clock.clearTimeout(handle);
    this.#timers.delete(taskId);
  }

  clearAll(): void {
    for (const id of [...this.#timers.keys()]) this.clear(id);
  }
}
