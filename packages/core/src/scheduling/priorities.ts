import { InvalidOptionsError } from '../model/errors.js';

/** The default priority levels. */
export const DEFAULT_PRIORITIES: Readonly<Record<string, number>> = Object.freeze({
  critical: 5,
  high: 4,
  medium: 3,
  low: 2,
  background: 1,
});

/** Resolves a priority (level name or number) against the levels in force. */
export function resolvePriority(value: string | number, priorities: Readonly<Record<string, number>>, path: string): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new InvalidOptionsError(`${path} must be a finite number or a level name`);
    return value;
  }
  const level = Object.hasOwn(priorities, value) ? priorities[value] : undefined;
  if (level === undefined) {
    throw new InvalidOptionsError(`${path} must be a number or one of ${Object.keys(priorities).join(', ')}; got "${value}"`);
  }
  return level;
}
