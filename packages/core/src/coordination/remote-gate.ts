import type { TaskRecord } from '../model/task-record.js';

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
}
