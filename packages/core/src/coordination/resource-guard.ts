import { cpus } from 'node:os';
import { RESOURCE_GUARD_DEFAULTS, type ResourceSample } from './resource-guard-options.js';

export type { ResourceGuardOptions, ResourceSample } from './resource-guard-options.js';

/** The guard's state after a sample. */
export type GuardChange = 'throttled' | 'recovered' | 'stepped' | undefined;

/** Reads host CPU (from the change in os.cpus() times) and process RSS. */
export function systemSampler(): () => ResourceSample {
  let last = cpuTimes();
  return () => {
    const now = cpuTimes();
    const busy = now.busy - last.busy;
    const total = now.total - last.total;
    last = now;
    return { cpuPercent: total > 0 ? (busy / total) * 100 : 0, memoryMb: process.memoryUsage().rss / 1_048_576 };
  };
}

function cpuTimes(): { busy: number; total: number } {
  let busy = 0;
  let total = 0;
  for (const cpu of cpus()) {
    const t = cpu.times;
    busy += t.user + t.nice + t.sys + t.irq;
    total += t.user + t.nice + t.sys + t.irq + t.idle;
  }
  return { busy, total };
}

/**
 * Decides, one sample at a time, how much the runtime may run. Above a limit it
 * throttles: effective concurrency drops by a step each sample (never below 1)
 * rather than stopping everything, and work below the protected priorities gets
 * only the floor (a share of the effective concurrency, at least one slot; none in
 * mode 'pause').
 * Below the limits by the hysteresis margin it recovers a step each sample, and is
 * recovered once back at full concurrency. Pure: no timer, no I/O of its own.
 */
export class ResourceGuard {
  readonly #maxCpu: number;
  readonly #maxMemory: number;
  readonly #margin: number;
  readonly #full: number;
  readonly #step: number;
  /** 'throttle' keeps a floor for unprotected work; 'pause' holds it all. */
  readonly mode: 'throttle' | 'pause';
  readonly #floorShare: number;
  #effective: number;
  #throttled = false;
  last: ResourceSample | undefined;

  constructor(options: { maxCpuPercent?: number; maxMemoryMb?: number; hysteresisPercent: number; mode?: 'throttle' | 'pause'; floorShare?: number }, concurrency: number) {
    this.mode = options.mode ?? RESOURCE_GUARD_DEFAULTS.mode;
    this.#floorShare = options.floorShare ?? RESOURCE_GUARD_DEFAULTS.floorShare;
    this.#maxCpu = options.maxCpuPercent ?? Infinity;
    this.#maxMemory = options.maxMemoryMb ?? Infinity;
    this.#margin = 1 - options.hysteresisPercent / 100;
    this.#full = concurrency;
    this.#effective = concurrency;
    this.#step = Math.max(1, Math.ceil(concurrency / 4));
  }

  get throttled(): boolean {
    return this.#throttled;
  }

  get effectiveConcurrency(): number {
    return this.#effective;
  }

  /** While throttled, how many tasks below `protect` may run (all of them otherwise). */
  get floor(): number {
    if (!this.#throttled) return this.#full;
    return this.mode === 'pause' ? 0 : Math.max(1, Math.floor(this.#effective * this.#floorShare));
  }

  /** Folds in one sample and says what changed. */
  sample(reading: ResourceSample): GuardChange {
    this.last = reading;
    const over = reading.cpuPercent > this.#maxCpu || reading.memoryMb > this.#maxMemory;
    const under = reading.cpuPercent < this.#maxCpu * this.#margin && reading.memoryMb < this.#maxMemory * this.#margin;
    if (over) {
      const wasThrottled = this.#throttled;
      this.#throttled = true;
      this.#effective = Math.max(1, this.#effective - this.#step);
      return wasThrottled ? 'stepped' : 'throttled';
    }
    if (under && this.#throttled) {
      this.#effective = Math.min(this.#full, this.#effective + this.#step);
      if (this.#effective === this.#full) {
        this.#throttled = false;
        return 'recovered';
      }
      return 'stepped';
    }
    return undefined;
  }
}
