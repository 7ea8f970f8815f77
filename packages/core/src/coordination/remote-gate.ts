import type { TaskRecord } from '../model/task-record.js';
import type { Take } from './rate-buckets.js';

/**
 * Leave from outside this process for what a task declares (a cluster's locks, keys and
 * buckets, held in its shared store): admission asks it, asynchronously, before a task
 * that needs it starts, and lets it go when the attempt ends.
 */
export interface RemoteGate {
  /** Where `task` waits while it asks (`lock:<name>`, `rate:<bucket>`, `key:<key>`), or undefined when it needs nothing of the gate. */
  parkKey(task: TaskRecord): string | undefined;
  /** Takes everything `task` declares at once: true once held (until `release`), false when not now. */
  ask(task: TaskRecord): Promise<boolean>;
  /** Resolves when asking again may succeed (something was let go, a window moved, or a while passed). */
  changed(task: TaskRecord): Promise<void>;
  /** Lets go of what `task` holds. */
  release(task: TaskRecord): void;
  /**
   * `cost` units of `bucket` for a running handler (`ctx.rateLimit`): resolves with the
   * take once the bucket's window lets them, rejects with `signal`'s reason when it
   * aborts first. `waiting(until)` is told once, if the units do not fit at once.
   */
  take(bucket: string, cost: number, signal: AbortSignal, waiting: (until: number) => void): Promise<Take>;
  /** A usage report: `delta` units more than `takes` took (counted now), or fewer (given back). */
  adjust(bucket: string, takes: readonly Take[], delta: number): void;
  /** No take of `bucket` until `until` (a provider said "retry after"). */
  pause(bucket: string, until: number): void;
}
