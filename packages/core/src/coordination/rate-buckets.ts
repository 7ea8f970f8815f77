import type { z } from 'zod';
import type { rateLimitSchema } from '../model/schemas.js';

/** A bucket's promise: never more than `limit` units taken in any window of `intervalMs`. */
export type RateLimit = Readonly<z.input<typeof rateLimitSchema>>;

/** One take: `units` taken at `at` (a usage report may lower or raise them later); `id` names it in a shared store. */
export interface Take {
  readonly at: number;
  units: number;
  readonly id?: string;
}

interface Bucket {
  readonly limit: number;
  readonly intervalMs: number;
  /** Takes still in the window, oldest at `head`. */
  takes: Take[];
  head: number;
  /** Units of the takes from `head` on. */
  sum: number;
  pausedUntil: number;
}

/**
 * Named rate-limit buckets as sliding windows of weighted takes: a take of `cost`
 * units at time t is allowed when the units taken in (t - intervalMs, t] plus
 * `cost` are at most `limit`. That is what a provider's "90,000 tokens a minute"
 * means (never more in any minute, not on average); a task start is a take of 1.
 * Expired takes are dropped from the front as time goes on, so each call costs
 * about the number of takes that left the window since the last one.
 */
export class RateBuckets {
  readonly #buckets = new Map<string, Bucket>();

  constructor(limits: Readonly<Record<string, RateLimit>>) {
    for (const [name, { limit, intervalMs }] of Object.entries(limits)) {
      this.#buckets.set(name, { limit, intervalMs, takes: [], head: 0, sum: 0, pausedUntil: 0 });
    }
  }

  has(name: string): boolean {
    return this.#buckets.has(name);
  }

  names(): string[] {
    return [...this.#buckets.keys()];
  }

  /** The most units one take can ever have in bucket `name`. */
  limitOf(name: string): number {
    return this.#bucket(name).limit;
  }

  /** The earliest time a take of `cost` units can succeed (now or later); `cost` must be at most the limit. */
  nextAt(name: string, now: number, cost = 1): number {
    const bucket = this.#prune(name, now);
    let at = Math.max(now, bucket.pausedUntil);
    let over = bucket.sum + cost - bucket.limit;
    // Wait for the oldest takes to leave the window until the cost fits.
    for (let i = bucket.head; over > 0 && i < bucket.takes.length; i++) {
      const take = bucket.takes[i] as Take;
      over -= take.units;
      at = Math.max(at, take.at + bucket.intervalMs);
    }
    return at;
  }

  /** Takes a token (one unit) if one is free at `now`. */
  tryTake(name: string, now: number): boolean {
    return this.take(name, now, 1) !== undefined;
  }

  /** Takes `cost` units if they fit at `now`; the take, which a usage report may adjust later, or undefined. */
  take(name: string, now: number, cost: number): Take | undefined {
    if (this.nextAt(name, now, cost) > now) return undefined;
    return this.#push(this.#bucket(name), now, cost);
  }

  /**
   * Adds units used beyond what was taken (they count at `now`, even past the
   * limit: they were used), or gives back units of `takes` not used (newest first;
   * takes that already left the window give nothing back).
   */
  adjust(name: string, takes: Take[], delta: number, now: number): void {
    const bucket = this.#prune(name, now);
    if (delta > 0) {
      this.#push(bucket, now, delta);
      return;
    }
    let back = -delta;
    for (let i = takes.length - 1; i >= 0 && back > 0; i--) {
      const take = takes[i] as Take;
      if (take.at + bucket.intervalMs <= now) break;
      const given = Math.min(back, take.units);
      take.units -= given;
      bucket.sum -= given;
      back -= given;
    }
  }

  /** Units that could be taken at `now`. */
  available(name: string, now: number): number {
    const bucket = this.#prune(name, now);
    if (bucket.pausedUntil > now) return 0;
    return Math.max(0, bucket.limit - bucket.sum);
  }

  /** Units taken in the window that ends at `now`. */
  inWindow(name: string, now: number): number {
    return this.#prune(name, now).sum;
  }

  /** Holds every take until `until` (a provider said "retry after"). */
  pause(name: string, until: number): void {
    const bucket = this.#bucket(name);
    bucket.pausedUntil = Math.max(bucket.pausedUntil, until);
  }

  #push(bucket: Bucket, now: number, units: number): Take {
    const take: Take = { at: now, units };
    bucket.takes.push(take);
    bucket.sum += units;
    return take;
  }

  /** Drops the takes that left the window at `now`. */
  #prune(name: string, now: number): Bucket {
    const bucket = this.#bucket(name);
    const { takes, intervalMs } = bucket;
    let head = bucket.head;
    while (head < takes.length && (takes[head] as Take).at + intervalMs <= now) {
      bucket.sum -= (takes[head] as Take).units;
      head++;
    }
    if (head === takes.length) {
      takes.length = 0;
      head = 0;
    } else if (head > 1_024 && head * 2 > takes.length) {
      bucket.takes = takes.slice(head);
      head = 0;
    }
    bucket.head = head;
    return bucket;
  }

  #bucket(name: string): Bucket {
    const bucket = this.#buckets.get(name);
    if (bucket === undefined) throw new Error(`no rate-limit bucket "${name}"`);
    return bucket;
  }
}
