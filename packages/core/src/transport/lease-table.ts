/**
 * One thing a task needs from the whole cluster before it starts:
 * - `lock`: a named lock, shared or exclusive;
 * - `slot`: one of `limit` places (a type's `keyConcurrency` for one `concurrencyKey`);
 * - `rate`: a start in a bucket that allows `limit` starts in any `intervalMs`.
 */
export type GateClaim =
  | { readonly kind: 'lock'; readonly name: string; readonly mode: 'exclusive' | 'shared' }
  | { readonly kind: 'slot'; readonly name: string; readonly limit: number }
  | { readonly kind: 'rate'; readonly name: string; readonly limit: number; readonly intervalMs: number };

/** The answer to a hold: held (until let go, or until the lease runs out unrenewed), or not now. */
export type HoldAnswer = { readonly held: true } | { readonly held: false; readonly retryInMs?: number };

/** A holder of a lock or slot, and when its lease runs out. */
interface Holder {
  readonly mode: 'exclusive' | 'shared' | 'slot';
  expiresAt: number;
}

/**
 * The cluster's leases, in one place: what `MemoryCluster` keeps in memory and what
 * `bullmqTransport`'s script keeps in Redis, by the same rules. A hold takes every claim
 * at once or none of them (no task holds some of its locks while it waits for others).
 * A lock or a slot is held until let go, or until its lease runs out unrenewed (its node
 * died); a rate start is spent once taken, and leaves its window `intervalMs` later.
 */
export class LeaseTable {
  readonly #holders = new Map<string, Map<string, Holder>>();
  readonly #starts = new Map<string, number[]>();

  hold(owner: string, claims: readonly GateClaim[], now: number, leaseMs: number): HoldAnswer {
    let retryInMs: number | undefined;
    for (const claim of claims) {
      if (claim.kind === 'rate') {
        const starts = this.#window(claim.name, now, claim.intervalMs);
        if (starts.length >= claim.limit) retryInMs = Math.max(retryInMs ?? 0, (starts[0] as number) + claim.intervalMs - now);
      } else if (this.#conflicts(owner, claim, now)) {
        return { held: false };
      }
    }
    if (retryInMs !== undefined) return { held: false, retryInMs };
    for (const claim of claims) {
      if (claim.kind === 'rate') (this.#starts.get(claim.name) as number[]).push(now);
      else this.#holdersOf(claim.name).set(owner, { mode: claim.kind === 'slot' ? 'slot' : claim.mode, expiresAt: now + leaseMs });
    }
    return { held: true };
  }

  /** Pushes back the end of `owner`'s leases; false when one had already run out (another may hold it now). */
  renew(owner: string, claims: readonly GateClaim[], now: number, leaseMs: number): boolean {
    let all = true;
    for (const claim of claims) {
      if (claim.kind === 'rate') continue;
      const holder = this.#holders.get(claim.name)?.get(owner);
      if (holder === undefined || holder.expiresAt <= now) all = false;
      else holder.expiresAt = now + leaseMs;
    }
    return all;
  }

  letGo(owner: string, claims: readonly GateClaim[]): void {
    for (const claim of claims) {
      if (claim.kind === 'rate') continue;
      const holders = this.#holders.get(claim.name);
      holders?.delete(owner);
      if (holders?.size === 0) this.#holders.delete(claim.name);
    }
  }

  #conflicts(owner: string, claim: GateClaim & { kind: 'lock' | 'slot' }, now: number): boolean {
    const holders = this.#holders.get(claim.name);
    if (holders === undefined) return false;
    let others = 0;
    for (const [who, holder] of holders) {
      if (holder.expiresAt <= now) holders.delete(who);
      else if (who !== owner && (claim.kind === 'slot' || claim.mode === 'exclusive' || holder.mode === 'exclusive')) others++;
    }
    return others >= (claim.kind === 'slot' ? claim.limit : 1);
  }

  #holdersOf(name: string): Map<string, Holder> {
    let holders = this.#holders.get(name);
    if (holders === undefined) this.#holders.set(name, (holders = new Map()));
    return holders;
  }

  /** The starts of bucket `name` still in its window at `now`, oldest first. */
  #window(name: string, now: number, intervalMs: number): number[] {
    let starts = this.#starts.get(name);
    if (starts === undefined) this.#starts.set(name, (starts = []));
    let gone = 0;
    while (gone < starts.length && (starts[gone] as number) <= now - intervalMs) gone++;
    if (gone > 0) starts.splice(0, gone);
    return starts;
  }
}
