import { Observable, Subject } from 'rxjs';
import type { RuntimeEvent } from './events.js';

/**
 * An event with its place among all events, for consumers that resume (Server-Sent
 * Events). Ids are unique and ordered:
 * - `S.n`: the n-th event (from 0) the journal record with sequence number S stands
 *   for. Every one of them can be replayed from the journal, equal to the live one.
 * - `S-j`: the j-th event after record S that the journal does not hold (progress,
 *   output, lock and rate waits, supervisor and resource news). A resume after it
 *   goes on with record S+1; such events are not replayed.
 * - `S` alone (as a resume point): everything up to record S was seen.
 * Order: by S, then every `S.n` before every `S-j`, then by n or j.
 */
export interface FeedEvent {
  id: string;
  event: RuntimeEvent;
}

/** Where a consumer resumes: after record `seq`, or after its event `index` when given. */
export interface FeedPosition {
  seq: number;
  index?: number;
}

/** The event types that journal records stand for (see recordToEvents); the feed takes them from the records. */
export const JOURNALED_EVENT_TYPES: ReadonlySet<string> = new Set([
  'task:submitted',
  'task:queued',
  'task:started',
  'task:retrying',
  'task:completed',
  'task:failed',
  'task:cancelled',
  'task:timed_out',
  'task:step',
  'task:waiting',
  'task:signalled',
  'attempt:interrupted',
  'lock:acquired',
  'workflow:started',
  'workflow:phase-started',
  'workflow:phase-completed',
  'workflow:completed',
  'workflow:failed',
  'workflow:cancelled',
  'webhook:delivered',
  'webhook:failed',
  'schedule:fired',
]);

/** Reads an id of the feed (or a bare sequence number) as a resume point; undefined when it is none. */
export function parseEventId(id: string): FeedPosition | undefined {
  const match = /^(\d{1,15})(?:([.-])(\d{1,9}))?$/.exec(id.trim());
  if (match === null) return undefined;
  const seq = Number(match[1]);
  // After a journaled event: the rest of its record. After anything else: the next record.
  return match[2] === '.' ? { seq, index: Number(match[3]) } : { seq };
}

/**
 * The live side of the feed: the engine hands it each record's events as it applies
 * the record (computed only while someone listens), and every other event passes
 * through from the runtime's events with an `S-j` id.
 */
export class EventFeed {
  readonly #records = new Subject<{ seq: number; events: RuntimeEvent[] }>();
  readonly #events: Observable<RuntimeEvent>;
  readonly #lastSeq: () => number;

  constructor(events: Observable<RuntimeEvent>, lastSeq: () => number) {
    this.#events = events;
    this.#lastSeq = lastSeq;
  }

  /** True while someone listens: the engine derives the events of a record only then. */
  get observed(): boolean {
    return this.#records.observed;
  }

  /** The events of record `seq`, right after it was applied. */
  record(seq: number, events: RuntimeEvent[]): void {
    if (events.length > 0) this.#records.next({ seq, events });
  }

  /** Every event from now on, with its id; completes with the runtime's events. */
  readonly items$: Observable<FeedEvent> = new Observable<FeedEvent>((subscriber) => {
    let seq = -1;
    let j = 0;
    const fromRecords = this.#records.subscribe(({ seq: recordSeq, events }) => {
      for (let n = 0; n < events.length; n++) subscriber.next({ id: `${recordSeq}.${n}`, event: events[n] as RuntimeEvent });
    });
    const others = this.#events.subscribe({
      next: (event) => {
        if (JOURNALED_EVENT_TYPES.has(event.type)) return;
        const now = this.#lastSeq();
        if (now !== seq) {
          seq = now;
          j = 0;
        }
        subscriber.next({ id: `${now}-${j++}`, event });
      },
      error: (error: unknown) => subscriber.error(error),
      complete: () => subscriber.complete(),
    });
    return () => {
      fromRecords.unsubscribe();
      others.unsubscribe();
    };
  });
}
