/**
 * Waits for a condition that can only change when work ends: each `poke()` (after
 * an attempt) re-checks it. Used by shutdown to let running work finish.
 */
export class IdleWaiter {
  #checks: Array<() => void> = [];

  /** Re-checks every waiting condition. */
  poke(): void {
    if (this.#checks.length === 0) return;
    for (const check of this.#checks.splice(0)) check();
  }

  /** Resolves when `done()` holds, or after `timeoutMs` of wall time. */
  wait(done: () => boolean, timeoutMs: number): Promise<void> {
    if (done() || timeoutMs <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      // A real timer on purpose: the grace period of a shutdown is wall time even
      // under a simulated clock, so a test cannot hang on it. Past what a Node timer
      // holds (Infinity included) there is no timer: it waits for the work.
      const timer = timeoutMs <= 2_147_483_647 ? setTimeout(finish, timeoutMs) : undefined;
      const check = () => {
        if (done()) finish();
        else this.#checks.push(check);
      };
      function finish() {
        clearTimeout(timer);
        resolve();
      }
      this.#checks.push(check);
    });
  }
}
