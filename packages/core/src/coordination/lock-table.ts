/** How a task holds a named lock. */
export type LockMode = 'exclusive' | 'shared';

/** One lock a task asks for. */
export interface LockRequest {
  readonly name: string;
  readonly mode: LockMode;
}

interface LockState {
  exclusive: string | undefined;
  readonly shared: Set<string>;
}

/**
 * Named locks and who holds them. A task's locks are taken all at once or not at
 * all (`acquire` after `firstConflict` found none), so no task ever holds some of
 * its locks while waiting for others: there is no hold-and-wait, hence no deadlock.
 */
export class LockTable {
  readonly #locks = new Map<string, LockState>();

  /** The first lock of `requests` that cannot be granted now, or undefined. */
  firstConflict(requests: readonly LockRequest[]): LockRequest | undefined {
    for (const request of requests) {
      const state = this.#locks.get(request.name);
      if (state === undefined) continue;
      if (state.exclusive !== undefined) return request;
      if (request.mode === 'exclusive' && state.shared.size > 0) return request;
    }
    return undefined;
  }

  /** Grants every lock of `requests` to `owner` (call after `firstConflict` found none). */
  acquire(owner: string, requests: readonly LockRequest[]): void {
    for (const request of requests) {
      let state = this.#locks.get(request.name);
      if (state === undefined) {
        state = { exclusive: undefined, shared: new Set() };
        this.#locks.set(request.name, state);
      }
      if (request.mode === 'exclusive') state.exclusive = owner;
      else state.shared.add(owner);
    }
  }

  /** Releases `owner`'s locks; returns the names that became free of this owner. */
  release(owner: string, requests: readonly LockRequest[]): string[] {
    const released: string[] = [];
    for (const request of requests) {
      const state = this.#locks.get(request.name);
      if (state === undefined) continue;
      if (state.exclusive === owner) state.exclusive = undefined;
      state.shared.delete(owner);
      if (state.exclusive === undefined && state.shared.size === 0) this.#locks.delete(request.name);
      released.push(request.name);
    }
    return released;
  }

  /** Locks held now, with their holders. */
  held(): Array<{ name: string; mode: LockMode; holders: string[] }> {
    return [...this.#locks.entries()].map(([name, state]) =>
      state.exclusive !== undefined ? { name, mode: 'exclusive' as const, holders: [state.exclusive] } : { name, mode: 'shared' as const, holders: [...state.shared] },
    );
  }
}

/** Normalises a task's `locks` option: names are exclusive, duplicates merge (exclusive wins). */
export function normalizeLocks(locks: ReadonlyArray<string | { name: string; mode?: LockMode }> | undefined): LockRequest[] {
  if (locks === undefined) return [];
  const byName = new Map<string, LockMode>();
  for (const lock of locks) {
    const name = typeof lock === 'string' ? lock : lock.name;
    const mode = typeof lock === 'string' ? 'exclusive' : lock.mode ?? 'exclusive';
    byName.set(name, byName.get(name) === 'exclusive' ? 'exclusive' : mode);
  }
  // A stable order makes conflicts and events read the same way every time.
  return [...byName.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, mode]) => ({ name, mode }));
}
