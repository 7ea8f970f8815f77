import { Cron } from 'croner';
import { z } from 'zod';
import type { ScheduleSpecRecord } from '../journal/journal-record.js';
import { InvalidOptionsError } from '../model/errors.js';
import { describeZodError, submitOptionsSchema } from '../model/schemas.js';

/** Defaults of a schedule's options: the one place they are written. */
export const SCHEDULE_DEFAULTS = Object.freeze({
  timezone: 'UTC',
  overlap: 'skip' as const,
  catchUp: 'latest' as const,
  /** The most firings `catchUp: 'all'` runs after downtime (the latest ones). */
  maxCatchUp: 100,
});

/** The shortest `every`: one second, the finest grain of a cron pattern too. */
const MIN_EVERY_MS = 1_000;

/** A schedule id: what the REST path, the CLI and the idempotency keys carry. */
export const scheduleIdSchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, 'must start with a letter or digit and hold only letters, digits and . _ : -');

/** True when `timezone` is an IANA time zone this Node knows (or 'UTC'). */
function isTimeZone(timezone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
    return true;
  } catch {
    return false;
  }
}

/** A cron pattern as croner reads it here: five fields, or six with seconds first. */
export function cronOf(pattern: string, timezone: string): Cron {
  return new Cron(pattern, { timezone, mode: '5-or-6-parts' });
}

/** Why `pattern` is no cron pattern that ever fires in `timezone`, or undefined when it is one. */
function cronProblem(pattern: string, timezone: string): string | undefined {
  try {
    if (cronOf(pattern, timezone).nextRun(new Date(0)) === null) return 'never fires';
    return undefined;
  } catch (error) {
    return `is not a cron pattern (minute hour day-of-month month day-of-week, or seconds first): ${error instanceof Error ? error.message : String(error)}`;
  }
}

/**
 * A schedule as `rt.schedule(id, spec)`, `createRuntime({ schedules })`, the serve
 * config, REST and MCP take it: exactly one of `cron` (in `timezone`) and `every`,
 * and the task each firing submits.
 */
export const scheduleSpecSchema = z
  .strictObject({
    cron: z.string().min(1).max(200).optional(),
    every: z.number().int().min(MIN_EVERY_MS).max(366 * 86_400_000).optional(),
    timezone: z.string().min(1).max(100).optional(),
    type: z.string().min(1),
    input: z.unknown().optional(),
    // The schedule sets each firing's idempotency key; a firing has no task to depend on.
    options: submitOptionsSchema.omit({ idempotencyKey: true, dependsOn: true, onDependencyFailure: true }).optional(),
    overlap: z.enum(['skip', 'allow']).optional(),
    catchUp: z.enum(['none', 'latest', 'all']).optional(),
  })
  .superRefine((spec, ctx) => {
    if ((spec.cron === undefined) === (spec.every === undefined)) {
      ctx.addIssue({ code: 'custom', path: spec.cron === undefined ? [] : ['every'], message: 'give exactly one of cron and every' });
    }
    const timezone = spec.timezone ?? SCHEDULE_DEFAULTS.timezone;
    if (!isTimeZone(timezone)) {
      ctx.addIssue({ code: 'custom', path: ['timezone'], message: `"${timezone}" is not an IANA time zone (such as "UTC" or "Europe/Berlin")` });
      return;
    }
    const problem = spec.cron === undefined ? undefined : cronProblem(spec.cron, timezone);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', path: ['cron'], message: `"${spec.cron}" ${problem}` });
  });

/**
 * A schedule's spec (checked by `scheduleSpecSchema`):
 * - `cron`: a cron pattern (five fields, or six with seconds first), read in `timezone`.
 * - `every`: an interval in ms (at least 1,000): the schedule fires at its creation time
 *   plus whole multiples of it (the first one interval after creation).
 * - `timezone`: IANA time zone of `cron` (default 'UTC').
 * - `type`, `input`, `options`: the task each firing submits (`options` as submit's,
 *   without `idempotencyKey`, which the schedule sets, and without dependencies).
 * - `overlap`: 'skip' (default): no firing while the task of the last one has not ended
 *   (the firing is skipped); 'allow': fire regardless.
 * - `catchUp`: what runs of the firings missed while the runtime was down: 'none',
 *   'latest' (default: one run, for the latest), 'all' (each, the latest 100 at most).
 */
export type ScheduleSpec = z.input<typeof scheduleSpecSchema>;

/** A schedule as `rt.schedules()` lists it; times are epoch milliseconds. */
export interface ScheduleInfo {
  id: string;
  cron?: string;
  every?: number;
  timezone: string;
  /** When it fires next (while paused: when it would). Absent when it never fires again. */
  next?: number;
  /** Fire time of the last firing that submitted a task. */
  last?: number;
  lastTaskId?: string;
  paused: boolean;
  type: string;
  overlap: 'skip' | 'allow';
  catchUp: 'none' | 'latest' | 'all';
  createdAt: number;
}

/** Checks a schedule id and spec (`idPath` and `specPath` name them in the error) and fills in the defaults. */
export function resolveScheduleSpec(id: unknown, spec: unknown, specPath = 'spec', idPath = 'id'): { id: string; spec: ScheduleSpecRecord } {
  const checkedId = scheduleIdSchema.safeParse(id);
  if (!checkedId.success) throw new InvalidOptionsError(describeZodError(idPath, checkedId.error));
  if (spec === null || typeof spec !== 'object') throw new InvalidOptionsError(`${specPath} must be an object`);
  const parsed = scheduleSpecSchema.safeParse(spec);
  if (!parsed.success) throw new InvalidOptionsError(describeZodError(specPath, parsed.error));
  const s = parsed.data;
  return {
    id: checkedId.data,
    spec: {
      ...(s.cron === undefined ? {} : { cron: s.cron }),
      ...(s.every === undefined ? {} : { every: s.every }),
      timezone: s.timezone ?? SCHEDULE_DEFAULTS.timezone,
      type: s.type,
      ...(s.input === undefined ? {} : { input: s.input }),
      ...(s.options === undefined ? {} : { options: s.options as Record<string, unknown> }),
      overlap: s.overlap ?? SCHEDULE_DEFAULTS.overlap,
      catchUp: s.catchUp ?? SCHEDULE_DEFAULTS.catchUp,
    },
  };
}
