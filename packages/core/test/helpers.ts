import { setImmediate as tick } from 'node:timers/promises';

/** Lets queued microtasks and a few event-loop turns run (no wall-clock wait). */
export async function settle(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await tick();
}

/** A promise with its resolve function, for handlers the test releases by hand. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** `promise`, or a failure naming `what` after `ms` (a guard against a hang, not a measure). */
export function within<T>(promise: Promise<T>, what: string | (() => string), ms = 10_000): Promise<T> {
  const guard = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(typeof what === 'string' ? what : what())), ms).unref());
  return Promise.race([promise, guard]);
}

/** URL of the worker fixture module. */
export const WORKERS = new URL('./fixtures/workers.js', import.meta.url);
