import type { Clock } from '../time/clock.js';

/** One timer per task waiting out its backoff, on the runtime's clock (the timer wheel). */
export class RetryTimers {
  readonly #clock: Clock;
  readonly #timers = new Map<string, unknown>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Tasks waiting out a backoff. */
  get size(): number {
    return this.#timers.size;
  }

  /** Calls `due` after `delayMs`, unless cleared first. */
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
