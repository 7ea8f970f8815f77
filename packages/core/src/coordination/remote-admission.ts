import { ShuttingDownError } from '../model/errors.js';
import type { ParkingLot } from './parking-lot.js';
import type { Take } from './rate-buckets.js';
import type { RemoteGate } from './remote-gate.js';
import type { TaskRecord } from '../model/task-record.js';

/** What remote admission tells admission. */
export interface RemoteAdmissionHooks {
  /** The gate let `task` go: it may be admitted again, and starts. */
  granted(task: TaskRecord): void;
  /** The gate said not now for the first time: `task` waits on `key`. */
  waiting(task: TaskRecord, key: string): void;
}

/**
 * The part of admission a remote gate decides: a task that needs the gate is parked
 * while it asks, asks again whenever the gate says something changed, and is handed
 * back once held; what it holds is let go when its attempt ends, or when it stops
 * waiting (a hold that came too late is let go at once).
 */
export class RemoteAdmission {
  readonly #gate: RemoteGate;
  readonly #parked: ParkingLot<TaskRecord>;
  readonly #hooks: RemoteAdmissionHooks;
  /** Tasks the gate let go, not yet ended. */
  readonly #held = new Map<string, TaskRecord>();
  readonly #asking = new Set<string>();
  /** Waits of running handlers for units, each ended by `stop` if not before. */
  readonly #takes = new Set<AbortController>();
  #stopped = false;

  constructor(gate: RemoteGate, parked: ParkingLot<TaskRecord>, hooks: RemoteAdmissionHooks) {
    this.#gate = gate;
    this.#parked = parked;
    this.#hooks = hooks;
  }

  /** Where `task` waits for the gate, or undefined when it does not need it. */
  keyOf(task: TaskRecord): string | undefined {
    return this.#gate.parkKey(task);
  }

  /** True when the gate holds what `task` needs (it may start); else it is parked on `key` and asks. */
  admit(task: TaskRecord, key: string): boolean {
    if (this.#held.has(task.id)) return true;
    this.#parked.park(key, task);
    if (!this.#asking.has(task.id)) void this.#ask(task, key);
    return false;
  }

  /** Lets go of what `task` holds, if anything; true when it held something. */
  release(task: TaskRecord): boolean {
    if (!this.#held.delete(task.id)) return false;
    this.#gate.release(task);
    return true;
  }

  /** Units of `bucket` for a running handler, from the gate (see `RemoteGate.take`); `stop` ends the wait too. */
  take(bucket: string, cost: number, signal: AbortSignal | undefined, waiting: (until: number) => void): Promise<Take> {
    if (this.#stopped) return Promise.reject(new ShuttingDownError());
    const controller = new AbortController();
    const onAbort = () => controller.abort(signal?.reason);
    if (signal?.aborted === true) onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    this.#takes.add(controller);
    return this.#gate.take(bucket, cost, controller.signal, waiting).finally(() => {
      signal?.removeEventListener('abort', onAbort);
      this.#takes.delete(controller);
    });
  }

  adjust(bucket: string, takes: readonly Take[], delta: number): void {
    this.#gate.adjust(bucket, takes, delta);
  }

  pause(bucket: string, until: number): void {
    this.#gate.pause(bucket, until);
  }

  /** Stops asking, lets go of everything held, and ends the handlers' waits for units with `reason`. */
  stop(reason?: unknown): void {
    this.#stopped = true;
    for (const take of this.#takes) take.abort(reason);
    this.#takes.clear();
    for (const task of this.#held.values()) this.#gate.release(task);
    this.#held.clear();
  }

  #waitingOn(task: TaskRecord, key: string): boolean {
    return !this.#stopped && this.#parked.keyOf(task.id) === key;
  }

  async #ask(task: TaskRecord, key: string): Promise<void> {
    this.#asking.add(task.id);
    try {
      for (let first = true; ; first = false) {
        let held = false;
        try {
          held = await this.#gate.ask(task);
        } catch {
          // The gate cannot be reached now: asked again when it may answer.
        }
        if (!this.#waitingOn(task, key)) {
          if (held) this.#gate.release(task); // it stopped waiting meanwhile (cancelled, timed out)
          return;
        }
        if (held) {
          this.#parked.remove(task);
          this.#held.set(task.id, task);
          this.#hooks.granted(task);
          return;
        }
        if (first) this.#hooks.waiting(task, key);
        await this.#gate.changed(task);
        if (!this.#waitingOn(task, key)) return;
      }
    } finally {
      this.#asking.delete(task.id);
      // Removal from the lot is lazy, and nothing else takes from a cluster key: its
      // entries that no longer wait are dropped here (and the lot once empty).
      this.#parked.peek(key);
    }
  }
}
