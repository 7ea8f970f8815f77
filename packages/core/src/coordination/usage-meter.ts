import type { RuntimeEvent } from '../events/events.js';
import type { NewRecord } from '../journal/journal-record.js';
import { TaskFailure, toTaskError, type TaskError } from '../model/task-error.js';
import type { TaskRecord } from '../model/task-record.js';
import type { Clock } from '../time/clock.js';
import type { Admission } from './admission.js';
import type { Take } from './rate-buckets.js';

/** What one attempt has of a bucket: takes not yet trued up by a usage report, their units, and units asked for but not granted yet. */
interface Metered {
  takes: Take[];
  reserved: number;
  pending: number;
}

/** What the meter needs to know of a running attempt. */
export interface MeteredAttempt {
  readonly task: TaskRecord;
  /** Fires when the attempt is stopped: a wait for units ends with it. */
  readonly signal: AbortSignal;
  /** Stops the attempt's work. */
  abort(reason: unknown): void;
  /** Per bucket, what this attempt took (kept on the attempt: it goes with it). */
  readonly metered: Map<string, Metered>;
  /** Ends the attempt as failed with `error`. */
  failed(error: TaskError): void;
}

/** What the meter needs from the engine. */
export interface UsageHost {
  commit(record: NewRecord): unknown;
  emit(event: RuntimeEvent): void;
  state(): 'running' | 'stopping' | 'stopped';
}

function meteredOf(attempt: MeteredAttempt, bucket: string): Metered {
  let metered = attempt.metered.get(bucket);
  if (metered === undefined) {
    metered = { takes: [], reserved: 0, pending: 0 };
    attempt.metered.set(bucket, metered);
  }
  return metered;
}

function invalid(message: string): TaskFailure {
  return new TaskFailure(message, { code: 'STEWARD_INVALID_OPTIONS', retryable: false });
}

/**
 * Weighted takes of running handlers and their usage: `ctx.rateLimit(bucket, { cost })`
 * waits for `cost` units of the bucket's window, `ctx.reportUsage(bucket, used)` trues
 * the takes since the last report up to what was used; both are journaled per task
 * (`usage:recorded`, folded into `task.usage`) and checked against the task's `budget`,
 * whose excess fails the attempt with STEWARD_BUDGET_EXCEEDED, not retried.
 */
export class UsageMeter {
  readonly #admission: Admission;
  readonly #clock: Clock;
  readonly #host: UsageHost;

  constructor(admission: Admission, clock: Clock, host: UsageHost) {
    this.#admission = admission;
    this.#clock = clock;
    this.#host = host;
  }

  /** `ctx.rateLimit(bucket, { cost })`. */
  take(attempt: MeteredAttempt, bucket: string, cost: number = 1): Promise<void> {
    const buckets = this.#admission.buckets;
    if (typeof bucket !== 'string' || !buckets.has(bucket)) return Promise.reject(invalid(`ctx.rateLimit: no bucket "${String(bucket)}" in rateLimits`));
    if (typeof cost !== 'number' || !Number.isFinite(cost) || cost <= 0) return Promise.reject(invalid(`ctx.rateLimit: cost must be a positive number; got ${String(cost)}`));
    if (cost > buckets.limitOf(bucket)) return Promise.reject(invalid(`ctx.rateLimit: a cost of ${cost} never fits bucket "${bucket}" (limit ${buckets.limitOf(bucket)})`));
    const metered = meteredOf(attempt, bucket);
    const task = attempt.task;
    const budget = task.budget?.[bucket];
    const used = task.usage?.[bucket] ?? 0;
    if (budget !== undefined && used + metered.pending + cost > budget) {
      return Promise.reject(this.#exceeded(attempt, bucket, used + metered.pending + cost, budget));
    }
    metered.pending += cost;
    const waiting = (until: number) => this.#host.emit({ type: 'ratelimit:waiting', taskId: task.id, bucket, until, at: this.#clock.now() });
    return this.#admission.takeToken(bucket, attempt.signal, cost, waiting).then(
      (take) => {
        metered.pending -= cost;
        metered.takes.push(take);
        metered.reserved += cost;
        this.#record(task, bucket, cost);
      },
      (error: unknown) => {
        metered.pending -= cost;
        throw error;
      },
    );
  }

  /** `ctx.reportUsage(bucket, used)`: the takes since the last report used `used` units. */
  report(attempt: MeteredAttempt, bucket: string, used: number): void {
    const buckets = this.#admission.buckets;
    if (typeof bucket !== 'string' || !buckets.has(bucket)) {
      this.#fail(attempt, toTaskError(invalid(`ctx.reportUsage: no bucket "${String(bucket)}" in rateLimits`)));
      return;
    }
    if (typeof used !== 'number' || !Number.isFinite(used) || used < 0) {
      this.#fail(attempt, toTaskError(invalid(`ctx.reportUsage: used must be a number of units, 0 or more; got ${String(used)}`)));
      return;
    }
    const metered = meteredOf(attempt, bucket);
    const delta = used - metered.reserved;
    const takes = metered.takes;
    metered.takes = [];
    metered.reserved = 0;
    if (delta === 0) return;
    this.#admission.adjustUsage(bucket, takes, delta);
    const task = attempt.task;
    this.#record(task, bucket, delta);
    const budget = task.budget?.[bucket];
    const total = task.usage?.[bucket] ?? 0;
    if (budget !== undefined && delta > 0 && total + metered.pending > budget) this.#exceeded(attempt, bucket, total + metered.pending, budget);
  }

  #record(task: TaskRecord, bucket: string, units: number): void {
    if (this.#host.state() === 'stopped') return; // the store is closed
    this.#host.commit({ type: 'usage:recorded', at: this.#clock.now(), taskId: task.id, bucket, units });
  }

  /** The budget of `bucket` would be passed: the attempt fails, not to be retried. */
  #exceeded(attempt: MeteredAttempt, bucket: string, wanted: number, budget: number): TaskFailure {
    const failure = new TaskFailure(`budget of bucket "${bucket}" exceeded: ${wanted} units over a budget of ${budget}`, { code: 'STEWARD_BUDGET_EXCEEDED', retryable: false });
    this.#fail(attempt, toTaskError(failure));
    return failure;
  }

  #fail(attempt: MeteredAttempt, error: TaskError): void {
    attempt.failed(error);
    // The work stops for real (the thread is terminated; an inline handler sees ctx.signal).
    attempt.abort('failed');
  }
}
