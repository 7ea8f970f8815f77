import { z } from 'zod';
import { fnSchema, prioritySchema } from '../model/schemas.js';

/** One reading of the resources the guard watches. */
export interface ResourceSample {
  /** CPU busy across the host's cores, percent 0..100. */
  cpuPercent: number;
  /** Resident memory of this process, MB. */
  memoryMb: number;
}

/** Defaults of the resource guard, the one place they are written. */
export const RESOURCE_GUARD_DEFAULTS = Object.freeze({
  protect: 'high',
  intervalMs: 1_000,
  hysteresisPercent: 10,
  /** Under pressure keep a floor for work below `protect` ('pause': hold it all). */
  mode: 'throttle',
  /** Share of the effective concurrency kept for work below `protect` while throttled (at least one slot). */
  floorShare: 0.25,
} as const);

/** Validated shape of the `resourceGuard` option. */
export const resourceGuardOptionsSchema = z.strictObject({
  maxCpuPercent: z.number().positive().max(100).optional(),
  maxMemoryMb: z.number().positive().optional(),
  protect: prioritySchema.optional(),
  intervalMs: z.number().int().min(10).optional(),
  hysteresisPercent: z.number().min(0).max(90).optional(),
  mode: z.enum(['throttle', 'pause']).optional(),
  floorShare: z.number().min(0).max(1).optional(),
  sampler: fnSchema<() => ResourceSample>().optional(),
});

/**
 * Options of the resource guard (defaults in {@link RESOURCE_GUARD_DEFAULTS}):
 * - `maxCpuPercent`: above this host CPU percent the guard throttles (default: no CPU limit).
 * - `maxMemoryMb`: above this process RSS (MB) the guard throttles (default: no memory limit).
 * - `protect`: while throttled, tasks at or above this priority are admitted as long as
 *   there is room (default 'high'); those below it share the floor.
 * - `mode`: 'throttle' keeps a floor for the work below `protect` while throttled, so
 *   background work goes on at reduced capacity; 'pause' holds all of it until readings
 *   fall (default 'throttle').
 * - `floorShare`: the floor, as a share of the effective concurrency (at least one slot)
 *   (default 0.25). A task held longer than aging needs to raise it to `protect` runs
 *   over the floor (throttle mode).
 * - `intervalMs`: time between samples (default 1_000).
 * - `hysteresisPercent`: readings must fall this many percent below a limit before
 *   recovery starts (default 10).
 * - `sampler`: where readings come from; inject one to drive the guard in tests
 *   (default: host CPU and process RSS).
 */
export type ResourceGuardOptions = z.input<typeof resourceGuardOptionsSchema>;
