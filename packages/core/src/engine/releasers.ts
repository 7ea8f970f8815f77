import type { Logger } from '../model/logger.js';

interface Releaser {
  name: string;
  release: () => unknown;
}

/**
 * Cleanups registered as resources are created, run in reverse at shutdown: what
 * was made last goes first, so nothing is released while something made after it
 * still uses it. A new service adds its own releaser where it is made, and the
 * shutdown sequence does not change. Each runs once, awaited in turn; one that
 * fails is logged and the others still run.
 */
export class Releasers {
  readonly #stack: Releaser[] = [];
  readonly #logger: Logger;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** Registers the cleanup of a resource just made. */
  add(name: string, release: () => unknown): void {
    this.#stack.push({ name, release });
  }

  /** Runs every cleanup, newest first, and forgets them. */
  async releaseAll(): Promise<void> {
    for (const { name, release } of this.#stack.splice(0).reverse()) {
      try {
        await release();
      } catch (error) {
        this.#logger.warn(`steward: releasing ${name} at shutdown failed`, error);
      }
    }
  }
}
