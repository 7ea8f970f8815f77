import { performance } from 'node:perf_hooks';
import { Observable, type Subscriber } from 'rxjs';
import { z } from 'zod';
import { InvalidOptionsError } from '../model/errors.js';
import type { RuntimeEvent } from './events.js';
import { describeZodError } from '../model/schemas.js';

/**
 * What happens to a subscriber that falls behind. `'drop-oldest'` (the default)
 * keeps its newest `bufferSize` events and tells it, with a `stream:dropped` event,
 * how many older ones it missed; `'block'` hands it every event synchronously, as
 * it happens, and lets it hold the runtime up (for tests and cheap consumers).
 */
export type EventDropPolicy = 'drop-oldest' | 'block';

/** Defaults of an events subscription, the one place they are written. */
export const EVENT_SUBSCRIPTION_DEFAULTS = Object.freeze({
  /** Events a subscriber that is behind may have waiting. */
  bufferSize: 1024,
  policy: 'drop-oldest' as EventDropPolicy,
});

const subscriptionOptionsSchema = z.strictObject({
  bufferSize: z.number().int().min(1).max(1_000_000).default(EVENT_SUBSCRIPTION_DEFAULTS.bufferSize),
  policy: z.enum(['drop-oldest', 'block']).default(EVENT_SUBSCRIPTION_DEFAULTS.policy),
});

/**
 * How one subscription to the runtime's events is delivered: `rt.events(options)`.
 * - `bufferSize`: events kept for a subscriber that is behind; past it the oldest are dropped (default 1024).
 * - `policy`: see {@link EventDropPolicy} (default 'drop-oldest').
 */
export type EventSubscriptionOptions = z.input<typeof subscriptionOptionsSchema>;

/** The options, checked and with their defaults. */
export type ResolvedEventSubscriptionOptions = z.output<typeof subscriptionOptionsSchema>;

/**
 * Share of the thread's busy time a subscriber's callbacks may take. Time the event
 * loop spends idle is theirs as well; so a slow subscriber slows a busy runtime by
 * at most a third, and an idle one not at all.
 */
export const SUBSCRIBER_SHARE = 0.25;

/** Callback time a subscriber may run ahead of its share (a burst), in milliseconds. */
export const SUBSCRIBER_BURST_MS = 2;

/** Checks `rt.events(options)` and fills in the defaults. */
export function resolveEventSubscriptionOptions(options: unknown): ResolvedEventSubscriptionOptions {
  if (options === undefined) return { ...EVENT_SUBSCRIPTION_DEFAULTS };
  if (options === null || typeof options !== 'object') throw new InvalidOptionsError('options must be an object');
  const parsed = subscriptionOptionsSchema.safeParse(options);
  if (!parsed.success) throw new InvalidOptionsError(describeZodError('options', parsed.error));
  return parsed.data;
}

/**
 * `source` delivered to each subscriber on its own terms. With `'block'` every event
 * is handed over synchronously, as the source emits it. With `'drop-oldest'` every
 * subscriber gets a {@link SubscriberBuffer}: one that keeps up is handed each event
 * synchronously too; one that falls behind is fed from a bounded buffer off the
 * emitter's path.
 */
export function deliverEvents(source: Observable<RuntimeEvent>, options: ResolvedEventSubscriptionOptions, now: () => number): Observable<RuntimeEvent> {
  // Never the source itself: a Subject handed out could be fed by its holder.
  if (options.policy === 'block') return new Observable<RuntimeEvent>((subscriber) => source.subscribe(subscriber));
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
 * One subscriber's side of the event stream, paced by the time its callbacks take.
 * It holds a credit of callback time that grows with {@link SUBSCRIBER_SHARE} of
 * the time that passes (all of the event loop's idle time), up to
 * {@link SUBSCRIBER_BURST_MS}, and shrinks by what each callback takes. While its
 * buffer is empty and its credit positive, an event is handed over at once, as a
 * plain Subject would. Otherwise the event joins the buffer, behind the ones
 * already there so the order holds; a full buffer drops its oldest. The buffer is
 * drained on later turns (`setImmediate` with credit, a timer without), as many
 * events as the credit allows; before the first event after a gap the subscriber
 * is told how many it missed, with a `stream:dropped` event.
 */
export class SubscriberBuffer {
  readonly #subscriber: Subscriber<RuntimeEvent>;
  readonly #capacity: number;
  readonly #now: () => number;
  /** A ring of `capacity` slots, made when first needed: the waiting events from `#head`, `#size` of them. */
  #ring: Array<RuntimeEvent | undefined> | undefined;
  #head = 0;
  #size = 0;
  /** Events dropped since the last one handed over. */
  #dropped = 0;
  /** Callback time the subscriber may still take, in milliseconds (negative: it overran). */
  #credit = SUBSCRIBER_BURST_MS;
  /** `performance.now()` and the event loop's idle total when the credit was last brought up to date. */
  #creditAt = performance.now();
  #idleAt = performance.eventLoopUtilization().idle;
  #turn: NodeJS.Immediate | NodeJS.Timeout | undefined;
  /** Handing over now (a callback may cause another event, delivered inside it as before). */
  #depth = 0;
  #ending: (() => void) | undefined;
  #closed = false;

  constructor(subscriber: Subscriber<RuntimeEvent>, capacity: number, now: () => number) {
    this.#subscriber = subscriber;
    this.#capacity = capacity;
    this.#now = now;
  }

  /** Events waiting now. */
  get size(): number {
    return this.#size;
  }

  /** One event from the source. */
  offer(event: RuntimeEvent): void {
    if (this.#closed || this.#ending !== undefined) return;
    if (this.#size === 0 && this.#dropped === 0) {
      // Caused by the callback that is running: handed over inside it, as a plain Subject would.
      if (this.#depth > 0) {
        this.#subscriber.next(event);
        return;
      }
      if (this.#refill(performance.now()) > 0) {
        this.#hand(event);
        return;
      }
    }
    this.#ring ??= new Array<RuntimeEvent | undefined>(this.#capacity);
    if (this.#size === this.#capacity) {
      this.#ring[this.#head] = undefined;
      this.#head = (this.#head + 1) % this.#capacity;
      this.#size--;
      this.#dropped++;
    }
    this.#ring[(this.#head + this.#size) % this.#capacity] = event;
    this.#size++;
    this.#schedule();
  }

  /** The source ended: finish the buffer first, then call `last` (complete or error). */
  end(last: () => void): void {
    if (this.#closed || this.#ending !== undefined) return;
    this.#ending = last;
    if (this.#size === 0 && this.#dropped === 0) this.#finish();
    else this.#schedule();
  }

  /** The subscriber left: forget what waits. */
  close(): void {
    this.#closed = true;
    this.#cancelTurn();
    this.#ring = undefined;
    this.#size = 0;
  }

  /** The credit now. Idle time of the event loop is only read when the share alone leaves none. */
  #refill(now: number): number {
    const credit = this.#credit + (now - this.#creditAt) * SUBSCRIBER_SHARE;
    this.#creditAt = now;
    if (credit > 0) {
      this.#credit = Math.min(credit, SUBSCRIBER_BURST_MS);
      return this.#credit;
    }
    const idle = performance.eventLoopUtilization().idle;
    this.#credit = Math.min(credit + (idle - this.#idleAt) * (1 - SUBSCRIBER_SHARE), SUBSCRIBER_BURST_MS);
    this.#idleAt = idle;
    return this.#credit;
  }

  /** Hands one event over and charges the callback's time to the credit. */
  #hand(event: RuntimeEvent): void {
    const started = performance.now();
    this.#depth++;
    try {
      // RxJS reports a throwing callback itself (asynchronously); it does not reach here.
      this.#subscriber.next(event);
    } finally {
      this.#depth--;
      const ended = performance.now();
      this.#credit -= ended - started;
      this.#refill(ended);
    }
  }

  /** The next drain: next turn while there is credit, else once the overrun is paid back. */
  #schedule(): void {
    if (this.#turn !== undefined || this.#closed) return;
    const credit = this.#refill(performance.now());
    // A wait as long as the overrun is enough if the loop idles meanwhile; if not, the drain waits again.
    this.#turn = credit > 0 ? setImmediate(() => this.#drain()) : setTimeout(() => this.#drain(), Math.max(1, Math.ceil(-credit)));
  }

  #cancelTurn(): void {
    if (this.#turn === undefined) return;
    clearImmediate(this.#turn as NodeJS.Immediate);
    clearTimeout(this.#turn as NodeJS.Timeout);
    this.#turn = undefined;
  }

  #drain(): void {
    this.#turn = undefined;
    while (!this.#closed && (this.#size > 0 || this.#dropped > 0) && this.#refill(performance.now()) > 0) {
      if (this.#dropped > 0) {
        const count = this.#dropped;
        this.#dropped = 0;
        this.#hand({ type: 'stream:dropped', count, at: this.#now() });
      } else {
        const ring = this.#ring as Array<RuntimeEvent | undefined>;
        const event = ring[this.#head] as RuntimeEvent;
        ring[this.#head] = undefined;
        this.#head = (this.#head + 1) % this.#capacity;
        this.#size--;
        this.#hand(event);
      }
    }
    if (this.#closed) return;
    if (this.#size > 0 || this.#dropped > 0) this.#schedule();
    else if (this.#ending !== undefined) this.#finish();
  }

  #finish(): void {
    const last = this.#ending;
    this.close();
    last?.();
  }
}
