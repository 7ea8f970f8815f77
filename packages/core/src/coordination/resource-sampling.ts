import type { Clock } from '../time/clock.js';
import type { Logger } from '../model/logger.js';
import type { GuardChange, ResourceGuard, ResourceSample } from './resource-guard.js';

/**
 * Samples resources every `intervalMs` on the runtime's clock, feeds the guard, and
 * reports each change with the reading that caused it. Keeps the throttling periods
 * for reports. Stops when `stopped()` says so (the clock's timers are cleared at
 * shutdown as well).
 */
export function startResourceSampling(options: {
  guard: ResourceGuard;
  sampler: () => ResourceSample;
  intervalMs: number;
  clock: Clock;
  logger: Logger;
  periods: Array<{ from: number; to?: number }>;
  stopped: () => boolean;
  changed: (change: Exclude<GuardChange, undefined>, reading: ResourceSample, at: number) => void;
  /** After every sample taken while throttled (what the guard holds may be looked at again). */
  whileThrottled?: () => void;
}): void {
  const { guard, sampler, intervalMs, clock, periods } = options;
  const tick = () => {
    if (options.stopped()) return;
    let reading: ResourceSample | undefined;
    try {
      reading = sampler();
    } catch (error) {
      options.logger.warn('steward: the resource sampler failed', error);
    }
    if (reading !== undefined) {
      const change = guard.sample(reading);
      const at = clock.now();
      if (change === 'throttled') {
        periods.push({ from: at });
        if (periods.length > 1_000) periods.shift();
      } else if (change === 'recovered') {
        const open = periods.at(-1);
        if (open !== undefined && open.to === undefined) open.to = at;
      }
      if (change !== undefined) options.changed(change, reading, at);
      if (guard.throttled) options.whileThrottled?.();
    }
    clock.setTimeout(tick, intervalMs);
  };
  clock.setTimeout(tick, intervalMs);
}
