import type { EngineView } from '../engine/engine-view.js';
import { InvalidOptionsError } from '../model/errors.js';
import type { ScheduleInfo, ScheduleSpec } from '../schedules/schedule-spec.js';

function checkId(id: unknown): string {
  if (typeof id !== 'string' || id.length === 0) throw new InvalidOptionsError('id must be a non-empty string');
  return id;
}

/**
 * The schedule methods of the facade (`Runtime` extends this): cron patterns in a
 * time zone and `every` intervals, each firing submitting a task, all journaled.
 */
export abstract class RuntimeSchedules {
  readonly #engine: EngineView;

  protected constructor(engine: EngineView) {
    this.#engine = engine;
  }

  /**
   * Creates schedule `id`, or replaces the one of that id (its grid starts again
   * now; the same spec again changes nothing). Exactly one of `cron` (read in
   * `timezone`, default 'UTC') and `every` (ms); see {@link ScheduleSpec} for
   * `overlap` and `catchUp`. Each firing submits `type` with `input` and `options`
   * and the idempotency key `schedule:<id>:<fire time ISO>`. A bad cron pattern or
   * time zone: STEWARD_INVALID_OPTIONS naming the field (`spec.cron`, `spec.timezone`).
   */
  async schedule(id: string, spec: ScheduleSpec): Promise<ScheduleInfo> {
    return this.#engine.schedules.set(id, spec);
  }

  /** Every schedule, by id, with its next and last firing (epoch ms). */
  schedules(): ScheduleInfo[] {
    return this.#engine.schedules.list();
  }

  /** Stops a schedule's firings; those that fall while it is paused are skipped, not caught up. STEWARD_SCHEDULE_NOT_FOUND for an unknown id. */
  async pauseSchedule(id: string): Promise<ScheduleInfo> {
    return this.#engine.schedules.pause(checkId(id));
  }

  /** Lets a paused schedule fire again, from its next fire time after now. */
  async resumeSchedule(id: string): Promise<ScheduleInfo> {
    return this.#engine.schedules.resume(checkId(id));
  }

  /** Removes a schedule (the tasks it submitted stay); false when there was none. */
  async unschedule(id: string): Promise<boolean> {
    return this.#engine.schedules.remove(checkId(id));
  }
}
