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
});

/** Validated shape of the `resourceGuard` option. */
export const resourceGuardOptionsSchema = z.strictObject({
  maxCpuPercent: z.number().positive().max(100).optional(),
  maxMemoryMb: z.number().positive().optional(),
  protect: prioritySchema.optional(),
  intervalMs: z.number().int().min(10).optional(),
  hysteresisPercent: z.number().min(0).max(90).optional(),
  sampler: fnSchema<() => ResourceSample>().optional(),
});

/**
 * Options of the resource guard (defaults in {@link RESOURCE_GUARD_DEFAULTS}):
 * - `maxCpuPercent`: above this host CPU percent the guard throttles (default: no CPU limit).
 * - `maxMemoryMb`: above this process RSS (MB) the guard throttles (default: no memory limit).
 * - `protect`: while throttled, only tasks at or above this priority are admitted (default 'high').
 * - `intervalMs`: time between samples (default 1_000).
 * - `hysteresisPercent`: readings must fall this many percent below a limit before
 *   recovery starts (default 10).
 * - `sampler`: where readings come from; inject one to drive the guard in tests
 *   (default: host CPU and process RSS).
 */
export type ResourceGuardOptions = z.input<typeof resourceGuardOptionsSchema>;
