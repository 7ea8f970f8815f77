import { performance } from 'node:perf_hooks';
import { Observable, type Subscriber } from 'rxjs';
import { z } from 'zod';
import { InvalidOptionsError } from './errors.js';
import type { RuntimeEvent } from './events.js';
import { describeZodError } from './schemas.js';

/**
 * What happens to a subscriber that falls behind. `'drop-oldest'` (the default)
 * keeps its newest `bufferSize` events and tells it, with a `stream:dropped` event,
 * how many older ones it missed; `'block'` hands it every event synchronously, as
 * it happens, and lets it hold the runtime up (for tests and cheap consumers).
 */
export type EventDropPolicy = 'drop-oldest' | 'block';

/** How one subscription to the runtime's events is delivered: `rt.events(options)`. */
export interface EventSubscriptionOptions {
  /** Events kept for a subscriber that is behind; past it the oldest are dropped. @defaultValue 1024 */
  bufferSize?: number;
  /** @defaultValue 'drop-oldest' */
  policy?: EventDropPolicy;
}

/** The options, checked and with their defaults. */
export interface ResolvedEventSubscriptionOptions {
  bufferSize: number;
  policy: EventDropPolicy;
}

/** Events a subscriber that is behind may have waiting, by default. */
export const DEFAULT_EVENT_BUFFER_SIZE = 1024;

/**
 * Time a subscriber's callbacks may take in one turn of the event loop. Within it
 * events are handed over synchronously, as they happen; past it they wait in the
 * subscriber's buffer and are handed over a slice per later turn, so a slow
 * subscriber costs the runtime at most about this much per turn.
 */
export const SUBSCRIBER_BUDGET_MS = 1;

const subscriptionOptionsSchema = z.strictObject({
  bufferSize: z.number().int().min(1).max(1_000_000).optional(),
  policy: z.enum(['drop-oldest', 'block']).optional(),
});

/** Checks `rt.events(options)` and fills in the defaults. */
export function resolveEventSubscriptionOptions(options: unknown): ResolvedEventSubscriptionOptions {
  if (options === undefined) return { bufferSize: DEFAULT_EVENT_BUFFER_SIZE, policy: 'drop-oldest' };
  if (options === null || typeof options !== 'object') throw new InvalidOptionsError('options must be an object');
  const parsed = subscriptionOptionsSchema.safeParse(options);
  if (!parsed.success) throw new InvalidOptionsError(describeZodError('options', parsed.error));
  return { bufferSize: parsed.data.bufferSize ?? DEFAULT_EVENT_BUFFER_SIZE, policy: parsed.data.policy ?? 'drop-oldest' };
}

/**
 * `source` delivered to each subscriber on its own terms. With `'block'` it is the
 * source itself. With `'drop-oldest'` every subscriber gets a {@link SubscriberBuffer}:
 * one that keeps up is handed each event synchronously, as before; one that falls
 * behind is fed from a bounded buffer off the emitter's path.
 */
export function deliverEvents(source: Observable<RuntimeEvent>, options: ResolvedEventSubscriptionOptions, now: () => number): Observable<RuntimeEvent> {
  if (options.policy === 'block') return source;
  return new Observable<RuntimeEvent>((subscriber) => {
    const buffer = new SubscriberBuffer(subscriber, options.bufferSize, now);
    const subscription = source.subscribe({
      next: (event) => buffer.offer(event),
      error: (error: unknown) => buffer.end(() => subscriber.error(error)),
      complete: () => buffer.end(() => subscriber.complete()),
    });
    return () => {
      subscription.unsubscribe();
      buffer.close();
    };
  });
}

/**
 * One subscriber's side of the event stream. While its buffer is empty and its
 * callbacks have used less than {@link SUBSCRIBER_BUDGET_MS} this turn, an event
 * is handed over at once. Otherwise it joins the buffer (behind the ones already
 * there, so the order holds); a full buffer drops its oldest event. The buffer is
 * drained from `setImmediate`, as many events per turn as the budget allows (at
 * least one), so the runtime gets every turn back. Before the first event after a
 * gap the subscriber is told how many it missed, with a `stream:dropped` event.
 */
export class SubscriberBuffer {
  readonly #subscriber: Subscriber<RuntimeEvent>;
  readonly #capacity: number;
  readonly #now: () => number;
  /** A ring of `capacity` slots: the waiting events from `#head`, `#size` of them. */
  readonly #ring: Array<RuntimeEvent | undefined>;
  #head = 0;
  #size = 0;
  /** Events dropped since the last one handed over. */
  #dropped = 0;
  /** Milliseconds the subscriber's callbacks took this turn. */
  #spentMs = 0;
  #turn: NodeJS.Immediate | undefined;
  /** Handing over now (a callback may cause another event, delivered inside it as before). */
  #depth = 0;
  #ending: (() => void) | undefined;
  #closed = false;

  constructor(subscriber: Subscriber<RuntimeEvent>, capacity: number, now: () => number) {
    this.#subscriber = subscriber;
    this.#capacity = capacity;
    this.#now = now;
    this.#ring = new Array<RuntimeEvent | undefined>(capacity);
  }

  /** Events waiting now. */
  get size(): number {
    return this.#size;
  }

  /** One event from the source. */
  offer(event: RuntimeEvent): void {
    if (this.#closed || this.#ending !== undefined) return;
    if (this.#depth > 0 && this.#size === 0 && this.#dropped === 0) {
      // Caused by the callback that is running: handed over inside it, as a plain Subject would.
      this.#subscriber.next(event);
      return;
    }
    if (this.#size === 0 && this.#dropped === 0 && this.#spentMs < SUBSCRIBER_BUDGET_MS) {
      this.#hand(event);
      return;
    }
    if (this.#size === this.#capacity) {
      this.#ring[this.#head] = undefined;
      this.#head = (this.#head + 1) % this.#capacity;
      this.#size--;
      this.#dropped++;
    }
    this.#ring[(this.#head + this.#size) % this.#capacity] = event;
    this.#size++;
    this.#scheduleTurn();
  }

  /** The source ended: finish the buffer first, then call `last` (complete or error). */
  end(last: () => void): void {
    if (this.#closed || this.#ending !== undefined) return;
    this.#ending = last;
    if (this.#size === 0 && this.#dropped === 0) this.#finish();
    else this.#scheduleTurn();
  }

  /** The subscriber left: forget what waits. */
  close(): void {
    this.#closed = true;
    if (this.#turn !== undefined) clearImmediate(this.#turn);
    this.#turn = undefined;
    this.#ring.fill(undefined);
    this.#size = 0;
  }

  /** Hands one event over, timing the subscriber's callback. */
  #hand(event: RuntimeEvent): void {
    const started = performance.now();
    this.#depth++;
    try {
      // RxJS reports a throwing callback itself (asynchronously); it does not reach here.
      this.#subscriber.next(event);
    } finally {
      this.#depth--;
      this.#spentMs += performance.now() - started;
      this.#scheduleTurn();
    }
  }

  /** A fresh budget next turn, and the buffer drained then if it is not empty. */
  #scheduleTurn(): void {
    if (this.#turn !== undefined || this.#closed) return;
    this.#turn = setImmediate(() => this.#drain());
  }

  #drain(): void {
    this.#turn = undefined;
    this.#spentMs = 0;
    while (!this.#closed && (this.#size > 0 || this.#dropped > 0)) {
      if (this.#dropped > 0) {
        const count = this.#dropped;
        this.#dropped = 0;
        this.#hand({ type: 'stream:dropped', count, at: this.#now() });
      } else {
        const event = this.#ring[this.#head] as RuntimeEvent;
        this.#ring[this.#head] = undefined;
        this.#head = (this.#head + 1) % this.#capacity;
        this.#size--;
        this.#hand(event);
      }
      if (this.#spentMs >= SUBSCRIBER_BUDGET_MS) break;
    }
    if (this.#closed) return;
    if (this.#size === 0 && this.#dropped === 0 && this.#ending !== undefined) this.#finish();
  }

  #finish(): void {
    const last = this.#ending;
    this.close();
    last?.();
  }
}
