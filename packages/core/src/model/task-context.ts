/**
 * What a handler gets as its second argument, on the main thread and in a worker
 * thread alike.
 */
export interface TaskContext {
  readonly taskId: string;
  /** Attempt number, from 1. */
  readonly attempt: number;
  /**
   * Fires on cancel or timeout. In a worker thread the thread is terminated as
   * well, so only inline handlers need to watch it to stop.
   */
  readonly signal: AbortSignal;
  /** Results of the tasks this one depends on, by task id. */
  readonly dependencies: Readonly<Record<string, unknown>>;
  /** Reports progress: percent 0..100 (clamped), optional message. */
  progress(percent: number, message?: string): void;
  /** Writes a line to the task's captured output (stream `log`). */
  log(...values: unknown[]): void;
  /**
   * A durable step: runs `fn` once and journals its result under `name`. A later
   * attempt of the same task (after a crash or a retry) gets the recorded result
   * back instead of running `fn` again. The result must be plain data.
   */
  step<T>(name: string, fn: () => T | Promise<T>): Promise<T>;
  /**
   * Waits until `cost` units (default 1) of a named bucket of `rateLimits` fit its
   * window (first come, first served among handlers). Rejects with a TaskFailure
   * STEWARD_BUDGET_EXCEEDED, and fails the attempt, when they would pass the task's `budget`.
   */
  rateLimit(bucket: string, options?: { cost?: number }): Promise<void>;
  /**
   * Reports what the calls since the last report really used (an LLM's token count):
   * the difference is taken from or given back to the bucket's window, and journaled
   * as the task's usage. Past the task's `budget` the attempt fails with STEWARD_BUDGET_EXCEEDED.
   */
  reportUsage(bucket: string, used: number): void;
  /**
   * A durable wait for a signal (`rt.signal(taskId, name, payload)`): resolves to its
   * payload. The task is suspended meanwhile (status `waiting`, no slot, thread or
   * lock held) and its handler runs again from the top once the signal is in; this
   * call then returns the payload at once. Past `timeoutMs` it throws a TaskFailure
   * with code `STEWARD_SIGNAL_TIMEOUT` (catchable).
   */
  waitForSignal<T = unknown>(name: string, options?: { timeoutMs?: number }): Promise<T>;
  /** A durable sleep of `ms` on the runtime's clock: suspends the task like a wait; once over, returns at once on later runs. */
  sleep(name: string, ms: number): Promise<void>;
}

/**
 * Builds `ctx.step` over the results recorded so far and a reporter for new
 * ones; shared by the inline executor and the worker entry.
 */
export function makeStep(
  recorded: Readonly<Record<string, unknown>>,
  report: (name: string, result: unknown) => void,
): TaskContext['step'] {
  const known = new Map<string, unknown>(Object.entries(recorded));
  return async <T>(name: string, fn: () => T | Promise<T>): Promise<T> => {
    if (typeof name !== 'string' || name.length === 0) throw new TypeError('ctx.step needs a non-empty name');
    if (typeof fn !== 'function') throw new TypeError('ctx.step needs a function');
    if (known.has(name)) return known.get(name) as T;
    const result = await fn();
    known.set(name, result);
    report(name, result);
    return result;
  };
}

/** A task handler: input and context in, a structured-cloneable result out. */
export type TaskHandler<I = any, O = unknown> = (input: I, ctx: TaskContext) => O | Promise<O>;

/** Clamps a reported percent into 0..100; non-numbers become 0. */
export function clampPercent(percent: unknown): number {
  const value = typeof percent === 'number' && Number.isFinite(percent) ? percent : 0;
  return Math.min(100, Math.max(0, value));
}

/** Renders `ctx.log` arguments as one line, the way console.log would join them. */
export function formatLogLine(values: readonly unknown[]): string {
  return values
    .map((v) => {
      if (typeof v === 'string') return v;
      if (v instanceof Error) return v.stack ?? v.message;
      try {
        return JSON.stringify(v) ?? String(v);
      } catch {
        return String(v);
      }
    })
    .join(' ');
}
