import { type Observable, Subject } from 'rxjs';
import type { RuntimeEvent } from '../events/events.js';

/**
 * The runtime's event stream, owned by the engine: only the engine emits (its
 * services get `emit` from it), and everyone else sees `events$`, which cannot be
 * written to. An event nobody listens to is dropped at once.
 */
export class EngineEvents {
  readonly #subject = new Subject<RuntimeEvent>();
  /** Every event from now on; completes at shutdown. */
  readonly events$: Observable<RuntimeEvent> = this.#subject.asObservable();

  /** True while someone listens: an event that is costly to build is built only then. */
  get observed(): boolean {
    return this.#subject.observed;
  }

  /** Tells the listeners, if there are any. */
  readonly emit = (event: RuntimeEvent): void => {
    if (this.#subject.observed) this.#subject.next(event);
  };

  /** Ends the stream (shutdown). */
  complete(): void {
    this.#subject.complete();
  }
}
