import type { z } from 'zod';
import type { rateLimitSchema } from '../model/schemas.js';

/** A bucket's promise: never more than `limit` takes in any window of `intervalMs`. */
export type RateLimit = Readonly<z.input<typeof rateLimitSchema>>;

interface Bucket {
  readonly limit: number;
  readonly intervalMs: number;
  /** Times of the last `limit` takes, oldest at `head` (a ring). */
  readonly takes: number[];
  head: number;
  count: number;
  pausedUntil: number;
}

/**
 * Named rate-limit buckets as sliding windows: a take at time t is allowed when
 * fewer than `limit` takes happened in (t - intervalMs, t]. Keeping the times of
 * the last `limit` takes is enough to know, which is what a provider's "60 requests
 * a minute" means, rather than 60 a minute on average.
 */
export class RateBuckets {
  readonly #buckets = new Map<string, Bucket>();

  constructor(limits: Readonly<Record<string, RateLimit>>) {
    for (const [name, { limit, intervalMs }] of Object.entries(limits)) {
      this.#buckets.set(name, { limit, intervalMs, takes: new Array<number>(limit).fill(0), head: 0, count: 0, pausedUntil: 0 });
    }
  }

  has(name: string): boolean {
    return this.#buckets.has(name);
  }

  names(): string[] {
    return [...this.#buckets.keys()];
  }

  /** The earliest time a take can succeed (now or later). */
  nextAt(name: string, now: number): number {
    const bucket = this.#bucket(name);
    let at = Math.max(now, bucket.pausedUntil);
    if (bucket.count >= bucket.limit) at = Math.max(at, (bucket.takes[bucket.head] as number) + bucket.intervalMs);
    return at;
  }

  /** Takes a token if one is free at `now`. */
  tryTake(name: string, now: number): boolean {
    const bucket = this.#bucket(name);
    if (this.nextAt(name, now) > now) return false;
    if (bucket.count < bucket.limit) {
      bucket.takes[(bucket.head + bucket.count) % bucket.limit] = now;
      bucket.count++;
    } else {
      // The oldest take has left the window: its slot is reused.
      bucket.takes[bucket.head] = now;
      bucket.head = (bucket.head + 1) % bucket.limit;
    }
    return true;
  }

  /** Tokens that could be taken at `now`. */
  available(name: string, now: number): number {
    const bucket = this.#bucket(name);
    if (bucket.pausedUntil > now) return 0;
    let free = bucket.limit - bucket.count;
    for (let i = 0; i < bucket.count; i++) {
      if ((bucket.takes[(bucket.head + i) % bucket.limit] as number) + bucket.intervalMs <= now) free++;
      else break;
    }
    return free;
  }

  /** Holds every take until `until` (a provider said "retry after"). */
  pause(name: string, until: number): void {
    const bucket = this.#bucket(name);
    bucket.pausedUntil = Math.max(bucket.pausedUntil, until);
  }

  #bucket(name: string): Bucket {
    const bucket = this.#buckets.get(name);
    if (bucket === undefined) throw new Error(`no rate-limit bucket "${name}"`);
    return bucket;
  }
}
