import { TaskFailure } from './task-error.js';

/** Longest name of a wait or a signal (what fits a URL path segment of the REST API). */
export const MAX_WAIT_NAME_LENGTH = 100;

/**
 * What a suspended task waits for, as `snapshot.waitingFor` shows it: a signal of
 * `name` (until its timeout, when it has one) or the end of a sleep. `until` is in
 * epoch milliseconds on the runtime's clock.
 */
export type WaitingFor = { kind: 'signal'; name: string; until?: number } | { kind: 'sleep'; name: string; until: number };

/** What a handler's wait asks for, before the engine puts it on its clock. */
export type WaitRequest = { kind: 'signal'; name: string; timeoutMs?: number } | { kind: 'sleep'; name: string; ms: number };

/** How a wait ended, as the task keeps it for the runs after: the payload taken, a timeout, or a sleep over. */
export type WaitResult = { payload: unknown } | { timedOut: true } | { slept: true };

/** The waits of a task that have ended, by {@link waitKey}, in the order a run meets them. */
export type WaitResults = Readonly<Record<string, readonly WaitResult[]>>;

/** Key of a wait among a task's wait results: signals and sleeps have names of their own. */
export function waitKey(kind: WaitRequest['kind'], name: string): string {
  return `${kind}:${name}`;
}

/** The problem with a wait or signal name, or undefined when it is a good one. */
export function checkWaitName(name: unknown): string | undefined {
  if (typeof name !== 'string' || name.length === 0) return 'must be a non-empty string';
  if (name.length > MAX_WAIT_NAME_LENGTH) return `must be at most ${MAX_WAIT_NAME_LENGTH} characters`;
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'must not hold control characters';
  return undefined;
}

/** The error a wait past its timeout throws inside the handler. */
export function signalTimeout(name: string): TaskFailure {
  return new TaskFailure(`waited for signal "${name}" past its timeoutMs`, { code: 'STEWARD_SIGNAL_TIMEOUT', retryable: false });
}

function invalid(message: string): Promise<never> {
  return Promise.reject(new TaskFailure(message, { code: 'STEWARD_INVALID_OPTIONS', retryable: false }));
}

/**
 * Builds `ctx.waitForSignal` and `ctx.sleep` over the waits a task has already come
 * through and a reporter for a new one; shared by the inline executor and the worker
 * entry. The n-th wait of a name in a run gets the n-th recorded result of that name
 * at once; a wait with none reports `suspend` (once per run) and never settles: the
 * executor ends the attempt and the handler runs again from the top once the wait is over.
 */
export function makeWaits(recorded: WaitResults, suspend: (request: WaitRequest) => void): {
  waitForSignal<T = unknown>(name: string, options?: { timeoutMs?: number }): Promise<T>;
  sleep(name: string, ms: number): Promise<void>;
} {
  const met = new Map<string, number>();
  let suspended = false;
  const next = (key: string): WaitResult | undefined => {
    const n = met.get(key) ?? 0;
    met.set(key, n + 1);
    return recorded[key]?.[n];
  };
  const park = (request: WaitRequest): Promise<never> => {
    if (!suspended) {
      suspended = true;
      suspend(request);
    }
    // A fresh promise each time, never settled and referenced by nothing else: the parked
    // handler's frame is collected with it (one shared promise would keep every one alive).
    return new Promise<never>(() => undefined);
  };
  return {
    waitForSignal<T>(name: string, options?: { timeoutMs?: number }): Promise<T> {
      const problem = checkWaitName(name);
      if (problem !== undefined) return invalid(`ctx.waitForSignal: the name ${problem}`);
      const timeoutMs = options?.timeoutMs;
      if (timeoutMs !== undefined && (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0)) {
        return invalid('ctx.waitForSignal: options.timeoutMs must be a positive number of milliseconds');
      }
      const result = next(waitKey('signal', name));
      if (result === undefined) return park(timeoutMs === undefined ? { kind: 'signal', name } : { kind: 'signal', name, timeoutMs });
      if ('timedOut' in result) return Promise.reject(signalTimeout(name));
      return Promise.resolve(('payload' in result ? result.payload : undefined) as T);
    },
    sleep(name: string, ms: number): Promise<void> {
      const problem = checkWaitName(name);
      if (problem !== undefined) return invalid(`ctx.sleep: the name ${problem}`);
      if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) return invalid('ctx.sleep: ms must be a non-negative number of milliseconds');
      if (next(waitKey('sleep', name)) !== undefined) return Promise.resolve();
      return park({ kind: 'sleep', name, ms });
    },
  };
}
