/**
 * One thing a task needs from the whole cluster before it starts:
 * - `lock`: a named lock, shared or exclusive;
 * - `slot`: one of `limit` places (a type's `keyConcurrency` for one `concurrencyKey`);
 * - `rate`: `cost` units (default 1: a task's start) of a bucket that allows `limit` units
 *   in any `intervalMs`, recorded as the take `take` (default: a name made up for it).
 */
export type GateClaim =
  | { readonly kind: 'lock'; readonly name: string; readonly mode: 'exclusive' | 'shared' }
  | { readonly kind: 'slot'; readonly name: string; readonly limit: number }
  | RateClaim;

/** Units of a rate bucket (see `GateClaim`). */
export type RateClaim = { readonly kind: 'rate'; readonly name: string; readonly limit: number; readonly intervalMs: number; readonly cost?: number; readonly take?: string };

/**
 * A change to a bucket's window after the fact: `delta` units more than the takes named
 * in `takes` took (counted now, even past the limit: they were used), or fewer (given
 * back from those takes, newest first, as far as they are still in the window); or no
 * take at all for `pauseMs` (a provider said "retry after").
 */
export type RateChange = { readonly delta: number; readonly takes: readonly string[] } | { readonly pauseMs: number };

/** The answer to a hold: held (until let go, or until the lease runs out unrenewed), or not now. */
export type HoldAnswer = { readonly held: true } | { readonly held: false; readonly retryInMs?: number };

/** A holder of a lock or slot, and when its lease runs out. */
interface Holder {
  readonly mode: 'exclusive' | 'shared' | 'slot';
  expiresAt: number;
}

/** A rate take in a window. */
interface RateTake {
  readonly at: number;
  units: number;
  readonly id: string;
}

/** A bucket's takes still in its window, oldest first (and by name), their units, and when a pause ends. */
interface Window {
  takes: RateTake[];
  readonly byId: Map<string, RateTake>;
  sum: number;
  pausedUntil: number;
}

/** Units closer than this count as equal (sums of fractional costs are not exact, in Redis or here). */
const EPSILON = 1e-9;

/**
 * The cluster's leases, in one place: what `MemoryCluster` keeps in memory and what
 * `bullmqTransport`'s script keeps in Redis, by the same rules. A hold takes every claim
 * at once or none of them (no task holds some of its locks while it waits for others).
 * A lock or a slot is held until let go, or until its lease runs out unrenewed (its node
 * died); a rate take is spent once taken (a usage report may change its units), and
 * leaves its window `intervalMs` later.
 */
export class LeaseTable {
  readonly #holders = new Map<string, Map<string, Holder>>();
  readonly #windows = new Map<string, Window>();
  #takes = 0;

  hold(owner: string, claims: readonly GateClaim[], now: number, leaseMs: number): HoldAnswer {
    let retryInMs: number | undefined;
    for (const claim of claims) {
      if (claim.kind === 'rate') {
        const wait = this.#waitFor(claim, now);
        if (wait > 0) retryInMs = Math.max(retryInMs ?? 0, wait);
      } else if (this.#conflicts(owner, claim, now)) {
        return { held: false };
      }
    }
    if (retryInMs !== undefined) return { held: false, retryInMs };
    for (const claim of claims) {
      if (claim.kind === 'rate') this.#take(this.#window(claim.name, now, claim.intervalMs), now, claim.cost ?? 1, claim.take ?? `${owner}|${this.#takes}`);
      else this.#holdersOf(claim.name).set(owner, { mode: claim.kind === 'slot' ? 'slot' : claim.mode, expiresAt: now + leaseMs });
    }
    return { held: true };
  }

  /** Changes a bucket's window after the fact (see `RateChange`). */
  adjustRate(claim: RateClaim, change: RateChange, now: number): void {
    const window = this.#window(claim.name, now, claim.intervalMs);
    if ('pauseMs' in change) {
      window.pausedUntil = Math.max(window.pausedUntil, now + change.pauseMs);
    } else if (change.delta > 0) {
      this.#take(window, now, change.delta, `+|${this.#takes}`);
    } else {
      let back = -change.delta;
      for (let i = change.takes.length - 1; i >= 0 && back > 0; i--) {
        const take = window.byId.get(change.takes[i] as string);
        if (take === undefined) continue; // it left the window: nothing to give back
        const given = Math.min(back, take.units);
        take.units -= given;
        window.sum -= given;
        back -= given;
      }
    }
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

  /** How long until `claim`'s units fit in its window: 0 when they fit now, or when its take is there already (asked again after a lost answer). */
  #waitFor(claim: RateClaim, now: number): number {
    const window = this.#window(claim.name, now, claim.intervalMs);
    if (claim.take !== undefined && window.byId.has(claim.take)) return 0;
    if (window.pausedUntil > now) return window.pausedUntil - now;
    let over = window.sum + (claim.cost ?? 1) - claim.limit;
    if (over <= EPSILON) return 0;
    // The oldest takes leave first: wait until enough of them have.
    for (const take of window.takes) {
      over -= take.units;
      if (over <= EPSILON) return take.at + claim.intervalMs - now;
    }
    return claim.intervalMs;
  }

  /** Adds a take, once per name (a hold asked again after a lost answer takes nothing more). */
  #take(window: Window, now: number, units: number, id: string): void {
    this.#takes++;
    if (window.byId.has(id)) return;
    const take = { at: now, units, id };
    window.takes.push(take);
    window.byId.set(id, take);
    window.sum += units;
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

  /** Bucket `name`'s window at `now`: the takes that left it are dropped. */
  #window(name: string, now: number, intervalMs: number): Window {
    let window = this.#windows.get(name);
    if (window === undefined) this.#windows.set(name, (window = { takes: [], byId: new Map(), sum: 0, pausedUntil: 0 }));
    let gone = 0;
    for (let take = window.takes[0]; take !== undefined && take.at <= now - intervalMs; take = window.takes[++gone]) {
      window.sum -= take.units;
      window.byId.delete(take.id);
    }
    if (gone > 0) window.takes.splice(0, gone);
    if (window.takes.length === 0) window.sum = 0;
    return window;
  }
}
