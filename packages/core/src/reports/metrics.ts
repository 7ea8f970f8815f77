/** Durations kept for percentiles: the most recent ones. */
const DURATION_WINDOW = 4_096;
/** Throughput is counted over this many one-second buckets. */
const THROUGHPUT_WINDOW_S = 60;

/** Nearest-rank percentile of an ascending array (0 for none). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] as number;
}

/** Arithmetic mean, rounded to a tenth of a millisecond (0 for none). */
export function average(values: readonly number[]): number {
  if (values.length === 0) return 0;
  let sum = 0;
  for (const value of values) sum += value;
  return Math.round((sum / values.length) * 10) / 10;
}

/** One task type's resources: the tasks that reported any, their CPU time summed, the highest peak memory. */
export interface TypeResources {
  tasks: number;
  cpuMs: number;
  maxRssMb?: number;
}

/** Sums the resources of `tasks` (those without any are left out); undefined when none has any. */
export function sumResources(tasks: Iterable<{ resources?: { cpuMs: number; maxRssMb?: number } }>): TypeResources | undefined {
  let sum: TypeResources | undefined;
  for (const { resources } of tasks) {
    if (resources === undefined) continue;
    sum ??= { tasks: 0, cpuMs: 0 };
    sum.tasks++;
    sum.cpuMs += resources.cpuMs;
    if (resources.maxRssMb !== undefined) sum.maxRssMb = Math.max(sum.maxRssMb ?? 0, resources.maxRssMb);
  }
  return sum;
}

/** Counters and windows behind `rt.metrics()`; fed by the engine, read on demand. */
export class MetricsCollector {
  submitted = 0;
  completed = 0;
  failed = 0;
  cancelled = 0;
  timedOut = 0;
  retried = 0;
  crashed = 0;
  readonly #durations = new Float64Array(DURATION_WINDOW);
  #durationCount = 0;
  readonly #buckets = new Uint32Array(THROUGHPUT_WINDOW_S);
  #bucketSecond = 0;

  /** Records a task that ended, with its run time. */
  recordEnd(status: 'completed' | 'failed' | 'cancelled' | 'timed_out', durationMs: number | undefined, now: number): void {
    if (status === 'completed') this.completed++;
    else if (status === 'failed') this.failed++;
    else if (status === 'cancelled') this.cancelled++;
    else this.timedOut++;
    if (durationMs !== undefined && status !== 'cancelled') {
      this.#durations[this.#durationCount % DURATION_WINDOW] = durationMs;
      this.#durationCount++;
    }
    this.#advance(now);
    const slot = this.#bucketSecond % THROUGHPUT_WINDOW_S;
    this.#buckets[slot] = (this.#buckets[slot] as number) + 1;
  }

  /** Tasks ended per second over the last minute (or since the runtime started, if sooner; at least 1 s). */
  throughputPerSec(now: number, since: number): number {
    this.#advance(now);
    let total = 0;
    for (const count of this.#buckets) total += count;
    const windowS = Math.min(THROUGHPUT_WINDOW_S, Math.max(1, (now - since) / 1_000));
    return total / windowS;
  }

  /** Mean, p50 and p95 of recent run times (all 0 before any). */
  durations(): { avgMs: number; p50Ms: number; p95Ms: number; samples: number } {
    const n = Math.min(this.#durationCount, DURATION_WINDOW);
    const sorted = Array.from(this.#durations.subarray(0, n)).sort((a, b) => a - b);
    return { avgMs: average(sorted), p50Ms: percentile(sorted, 50), p95Ms: percentile(sorted, 95), samples: n };
  }

  #advance(now: number): void {
    const second = Math.floor(now / 1_000);
    if (this.#bucketSecond === 0) this.#bucketSecond = second;
    const gap = second - this.#bucketSecond;
    if (gap <= 0) return;
    for (let i = 1; i <= Math.min(gap, THROUGHPUT_WINDOW_S); i++) this.#buckets[(this.#bucketSecond + i) % THROUGHPUT_WINDOW_S] = 0;
    this.#bucketSecond = second;
  }
}
