import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Clock } from '../time/clock.js';
import type { Logger } from '../model/logger.js';
import type { SummaryReport } from './summary-report.js';
import type { z } from 'zod';
import type { reportsOptionsSchema } from '../model/schemas.js';

/**
 * When reports are written, and where:
 * - `every`: 'daily' at 00:00 UTC, 'weekly' on Mondays at 00:00 UTC.
 * - `dir`: directory the reports go to, as `steward-report-<date>.md` and `.json`.
 */
export type ReportsOptions = z.input<typeof reportsOptionsSchema>;

const DAY = 86_400_000;

/** The next 00:00 UTC after `now` (a Monday for weekly). */
export function nextReportAt(now: number, every: 'daily' | 'weekly'): number {
  let next = Math.floor(now / DAY) * DAY + DAY;
  if (every === 'weekly') {
    // 1970-01-01 was a Thursday: Mondays are days where (day + 3) % 7 === 0.
    while ((Math.floor(next / DAY) + 3) % 7 !== 0) next += DAY;
  }
  return next;
}

/**
 * Writes a report on a schedule, on the runtime's clock, for the period just
 * ended (a day or a week), the way teams keep weekly summaries of their agents.
 */
export function scheduleReports(options: ReportsOptions, clock: Clock, logger: Logger, report: (sinceMs: number) => Promise<SummaryReport>): () => void {
  const dir = resolve(options.dir);
  const periodMs = options.every === 'daily' ? DAY : 7 * DAY;
  let timer: unknown;
  let stopped = false;
  const arm = () => {
    const now = clock.now();
    timer = clock.setTimeout(() => void write().finally(() => !stopped && arm()), nextReportAt(now, options.every) - now);
  };
  const write = async () => {
    try {
      const summary = await report(periodMs);
      const name = `steward-report-${new Date(summary.until).toISOString().slice(0, 10)}`;
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, `${name}.md`), summary.toMarkdown());
      await writeFile(join(dir, `${name}.json`), `${JSON.stringify(summary, null, 2)}\n`);
    } catch (error) {
      logger.warn('steward: writing the scheduled report failed', error);
    }
  };
  arm();
  return () => {
    stopped = true;
    if (timer !== undefined) clock.clearTimeout(timer);
  };
}
