import type { Clock } from '../time/clock.js';

/**
 * One timer per suspended task whose wait has an end (a sleep, a signal's timeout),
 * on the runtime's clock (the timer wheel, which also takes waits longer than Node's
 * timers do). Kept in memory only: recovery arms them again from the task table.
 */
export class WaitTimers {
  readonly #clock: Clock;
  readonly #timers = new Map<string, unknown>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Suspended tasks with a timer. */
  get size(): number {
    return this.#timers.size;
  }

  /** Calls `due` at `until` (epoch ms; at once when it is past), unless cleared first. */
  arm(taskId: string, until: number, due: () => void): void {
    this.clear(taskId);
    const delayMs = Math.max(0, until - this.#clock.now());
    this.#timers.set(
      taskId,
      this.#clock.setTimeout(() => {
        this.#timers.delete(taskId);
        due();
      }, delayMs),
    );
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
