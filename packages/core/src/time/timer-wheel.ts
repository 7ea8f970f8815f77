import type { Clock } from './clock.js';

const MAX_TIMER_MS = 2_147_483_647;

interface WheelEntry {
  fn: (() => void) | undefined;
  readonly slot: number;
}

/**
 * One timer for many deadlines: entries are bucketed into slots of `resolutionMs`
 * and a single underlying timer is armed for the earliest slot. Attempt timeouts
 * and retry delays all go through here, so the host has one pending timer however
 * many tasks run, and cancelling is O(1). Deadlines fire at most one slot late.
 * Implements the Clock shape so XState actors use it for `after` transitions.
 */
export class TimerWheel implements Clock {
  readonly #base: Clock;
  readonly #resolutionMs: number;
  readonly #slots = new Map<number, Set<WheelEntry>>();
  // Min-heap of slot numbers that have (or had) entries; stale ones are skipped.
  readonly #heap: number[] = [];
  #armedSlot = Infinity;
  #armedHandle: unknown;
  #size = 0;

  constructor(base: Clock, resolutionMs = 10) {
    this.#base = base;
    this.#resolutionMs = resolutionMs;
  }

  now(): number {
    return this.#base.now();
  }

  /** Number of pending deadlines. */
  get size(): number {
    return this.#size;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const slot = Math.ceil((this.#base.now() + Math.max(0, ms)) / this.#resolutionMs);
    const entry: WheelEntry = { fn, slot };
    let bucket = this.#slots.get(slot);
    if (bucket === undefined) {
      bucket = new Set();
      this.#slots.set(slot, bucket);
      this.#push(slot);
    }
    bucket.add(entry);
    this.#size++;
    if (slot < this.#armedSlot) this.#arm();
    return entry;
  }

  clearTimeout(handle: unknown): void {
    const entry = handle as WheelEntry | undefined;
    if (entry === undefined || entry.fn === undefined) return;
    entry.fn = undefined;
    const bucket = this.#slots.get(entry.slot);
    if (bucket?.delete(entry)) {
      this.#size--;
      if (bucket.size === 0) this.#slots.delete(entry.slot);
    }
    if (this.#size === 0) {
      this.#heap.length = 0;
      this.#disarm();
    } else if (this.#heap.length > 2 * this.#slots.size + 64) {
      // Cleared far deadlines leave their slot in the heap until it would come up;
      // rebuild it now and then so it stays proportional to the live slots.
      this.#heap.length = 0;
      for (const slot of this.#slots.keys()) this.#push(slot);
    }
  }

  /** Drops every pending deadline and the underlying timer. */
  clear(): void {
    for (const bucket of this.#slots.values()) for (const entry of bucket) entry.fn = undefined;
    this.#slots.clear();
    this.#heap.length = 0;
    this.#size = 0;
    this.#disarm();
  }

  #arm(): void {
    this.#disarm();
    const slot = this.#peekLiveSlot();
    if (slot === undefined) return;
    this.#armedSlot = slot;
    // Node's timers take at most 2^31-1 ms and fire at once past it; a farther
    // slot is reached in hops.
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, slot * this.#resolutionMs - this.#base.now()));
    this.#armedHandle = this.#base.setTimeout(() => this.#fire(), delay);
  }

  #disarm(): void {
    if (this.#armedHandle !== undefined) this.#base.clearTimeout(this.#armedHandle);
    this.#armedHandle = undefined;
    this.#armedSlot = Infinity;
  }

  #fire(): void {
    this.#armedHandle = undefined;
    this.#armedSlot = Infinity;
    const nowSlot = Math.floor(this.#base.now() / this.#resolutionMs);
    for (;;) {
      const slot = this.#peekLiveSlot();
      if (slot === undefined || slot > nowSlot) break;
      this.#pop();
      const bucket = this.#slots.get(slot);
      if (bucket === undefined) continue;
      this.#slots.delete(slot);
      for (const entry of bucket) {
        const fn = entry.fn;
        entry.fn = undefined;
        this.#size--;
        fn?.();
      }
    }
    if (this.#size > 0) this.#arm();
  }

  #peekLiveSlot(): number | undefined {
    while (this.#heap.length > 0) {
      const top = this.#heap[0] as number;
      if (this.#slots.has(top)) return top;
      this.#pop();
    }
    return undefined;
  }

  #push(slot: number): void {
    const heap = this.#heap;
    heap.push(slot);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((heap[parent] as number) <= slot) break;
      heap[i] = heap[parent] as number;
      i = parent;
    }
    heap[i] = slot;
  }

  #pop(): void {
    const heap = this.#heap;
    const last = heap.pop() as number;
    if (heap.length === 0) return;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && (heap[right] as number) < (heap[left] as number) ? right : left;
      if ((heap[child] as number) >= last) break;
      heap[i] = heap[child] as number;
      i = child;
    }
    heap[i] = last;
  }
}
