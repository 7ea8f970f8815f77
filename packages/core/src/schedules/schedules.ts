import type { RuntimeEvent } from '../events/events.js';
import type { NewRecord, ScheduleSpecRecord } from '../journal/journal-record.js';
import type { TaskTable } from '../journal/reducer.js';
import { ScheduleNotFoundError, ShuttingDownError } from '../model/errors.js';
import type { Logger } from '../model/logger.js';
import type { SubmitOptions } from '../model/submit-options.js';
import type { TaskRecord } from '../model/task-record.js';
import { isTerminal } from '../model/types.js';
import type { Clock } from '../time/clock.js';
import { dueBetween, nextFireAfter } from './fire-times.js';
import { resolveScheduleSpec, SCHEDULE_DEFAULTS, type ScheduleInfo, type ScheduleSpec } from './schedule-spec.js';
import type { ScheduleState } from './schedule-state.js';

/** What the schedule service needs from the engine. */
export interface ScheduleHost {
  readonly table: TaskTable;
  /** The engine's clock (its timer wheel): every firing is a timer on it. */
  readonly clock: Clock;
  readonly logger: Logger;
  commit(record: NewRecord): void;
  submit(type: string, input: unknown, options: SubmitOptions): TaskRecord;
  emit(event: RuntimeEvent): void;
  isOpen(): boolean;
  isDefined(type: string): boolean;
  /** False while another process fires the schedules (a cluster node that does not lead): no timer is armed here. */
  leads?(): boolean;
}

/** How long a firing whose task type is not defined (yet) waits before it looks again. */
const HOLD_MS = 1_000;

/** The idempotency key of a schedule's firing at `fireAt`. */
export function firingKey(scheduleId: string, fireAt: number): string {
  return `schedule:${scheduleId}:${new Date(fireAt).toISOString()}`;
}

/** JSON with keys sorted: two specs are the same schedule when this is equal. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1))) : v,
  );
}

/**
 * Schedules: cron patterns in a time zone and `every` intervals, each firing
 * submitting a task. Everything is journaled: the schedule (`schedule:set`), each
 * firing with its task (`schedule:fired`), what was let go (`schedule:skipped`),
 * pause, resume and removal; each firing submits with the idempotency key
 * `schedule:<id>:<fire time ISO>`, so a firing cut short by a crash is found again,
 * not submitted twice. One timer per active schedule, on the engine's clock. After a
 * restart (or a host that stalled past several firings) the missed firings run as
 * `catchUp` says.
 */
export class Schedules {
  readonly #host: ScheduleHost;
  readonly #configured: Readonly<Record<string, ScheduleSpec>>;
  readonly #timers = new Map<string, unknown>();
  /** Schedules whose firing waits for its task type to be defined (told once each). */
  readonly #held = new Set<string>();

  /** `configured`: the schedules of the runtime options, set at recovery. */
  constructor(host: ScheduleHost, configured: Readonly<Record<string, ScheduleSpec>> = {}) {
    this.#host = host;
    this.#configured = configured;
  }

  /** Creates or replaces schedule `id`; the same spec again changes nothing (its state is kept). */
  set(id: string, spec: ScheduleSpec): ScheduleInfo {
    this.#assertOpen();
    const resolved = resolveScheduleSpec(id, spec);
    const existing = this.#host.table.schedules.get(resolved.id);
    if (existing === undefined || canonical(existing.spec) !== canonical(resolved.spec)) {
      this.#host.commit({ type: 'schedule:set', at: this.#host.clock.now(), scheduleId: resolved.id, spec: resolved.spec });
      this.#arm(resolved.id);
    }
    return this.info(resolved.id) as ScheduleInfo;
  }

  /** Every schedule, by id. */
  list(): ScheduleInfo[] {
    return [...this.#host.table.schedules.keys()].sort().map((id) => this.info(id) as ScheduleInfo);
  }

  /** One schedule, or undefined. */
  info(id: string): ScheduleInfo | undefined {
    const s = this.#host.table.schedules.get(id);
    if (s === undefined) return undefined;
    const next = nextFireAfter(s, Math.max(s.cursor, this.#host.clock.now()));
    return {
      id: s.id,
      ...(s.spec.cron === undefined ? {} : { cron: s.spec.cron }),
      ...(s.spec.every === undefined ? {} : { every: s.spec.every }),
      timezone: s.spec.timezone,
      ...(next === undefined ? {} : { next }),
      ...(s.last === undefined ? {} : { last: s.last }),
      ...(s.lastTaskId === undefined ? {} : { lastTaskId: s.lastTaskId }),
      paused: s.paused,
      type: s.spec.type,
      overlap: s.spec.overlap,
      catchUp: s.spec.catchUp,
      createdAt: s.createdAt,
    };
  }

  /** Stops the firings until `resume`; those that fall in between are skipped. */
  pause(id: string): ScheduleInfo {
    const s = this.#existing(id);
    if (!s.paused) {
      this.#host.commit({ type: 'schedule:paused', at: this.#host.clock.now(), scheduleId: s.id });
      this.#disarm(s.id);
    }
    return this.info(s.id) as ScheduleInfo;
  }

  /** Fires again from now on; what was missed while paused is not caught up. */
  resume(id: string): ScheduleInfo {
    const s = this.#existing(id);
    if (s.paused) {
      this.#host.commit({ type: 'schedule:resumed', at: this.#host.clock.now(), scheduleId: s.id });
      this.#arm(s.id);
    }
    return this.info(s.id) as ScheduleInfo;
  }

  /** Removes a schedule; false when there was none. The tasks it submitted are left alone. */
  remove(id: string): boolean {
    this.#assertOpen();
    if (typeof id !== 'string' || !this.#host.table.schedules.has(id)) return false;
    this.#host.commit({ type: 'schedule:removed', at: this.#host.clock.now(), scheduleId: id });
    this.#disarm(id);
    return true;
  }

  /**
   * After replay: records a firing a crash cut short (its task was submitted, the
   * firing not recorded), runs the missed firings as each schedule's `catchUp` says,
   * arms the timers, then sets the schedules of the runtime options (one unchanged
   * since the last run is left as it is, so it keeps its grid and what it missed).
   */
  recover(): void {
    for (const id of [...this.#host.table.schedules.keys()]) this.#run(id, true);
    for (const [id, spec] of Object.entries(this.#configured)) this.set(id, spec);
  }

  /** Drops every timer: the runtime stops. */
  stop(): void {
    for (const id of [...this.#timers.keys()]) this.#disarm(id);
  }

  #assertOpen(): void {
    if (!this.#host.isOpen()) throw new ShuttingDownError();
  }

  #existing(id: string): ScheduleState {
    this.#assertOpen();
    const s = typeof id === 'string' ? this.#host.table.schedules.get(id) : undefined;
    if (s === undefined) throw new ScheduleNotFoundError(id);
    return s;
  }

  /** Arms schedule `id` again as the table has it now (a record about it came from elsewhere). */
  refresh(id: string): void {
    this.#arm(id);
  }

  #arm(id: string): void {
    this.#disarm(id);
    const s = this.#host.table.schedules.get(id);
    if (s === undefined || s.paused || !this.#host.isOpen() || this.#host.leads?.() === false) return;
    const now = this.#host.clock.now();
    // From now at the earliest: a firing that could not be recorded is not tried in a loop.
    const next = nextFireAfter(s, Math.max(s.cursor, now));
    if (next === undefined) return;
    this.#timers.set(id, this.#host.clock.setTimeout(() => this.#run(id, false), next - now));
  }

  #disarm(id: string): void {
    this.#held.delete(id);
    const timer = this.#timers.get(id);
    if (timer === undefined) return;
    this.#timers.delete(id);
    this.#host.clock.clearTimeout(timer);
  }

  /**
   * Runs what is due of a schedule, then arms its next firing. At a timer (`recovering`
   * false) one firing is due, or several when the host stalled: those are a catch-up.
   * At recovery everything due was missed while down: a firing a crash cut short (its
   * task submitted, the firing not recorded) is recorded, the rest caught up. While
   * the task type is not defined (a config's types are defined after the runtime
   * opens) nothing is submitted: it looks again every second.
   */
  #run(id: string, recovering: boolean): void {
    this.#timers.delete(id);
    const s = this.#host.table.schedules.get(id);
    if (s === undefined || s.paused || !this.#host.isOpen()) return;
    if (!this.#host.isDefined(s.spec.type)) {
      if (!this.#held.has(id)) this.#host.logger.warn(`steward: schedule "${id}" waits for its task type "${s.spec.type}" to be defined`);
      this.#held.add(id);
      this.#timers.set(id, this.#host.clock.setTimeout(() => this.#run(id, recovering), HOLD_MS));
      return;
    }
    this.#held.delete(id);
    try {
      const now = this.#host.clock.now();
      if (recovering) {
        const first = nextFireAfter(s, s.cursor);
        const taskId = first === undefined || first > now ? undefined : this.#host.table.byIdempotencyKey.get(firingKey(s.id, first));
        if (first !== undefined && taskId !== undefined) this.#recordFiring(s, first, taskId);
      }
      const due = dueBetween(s, s.cursor, now, SCHEDULE_DEFAULTS.maxCatchUp);
      if (due.length === 1 && !recovering) this.#fire(s, due[0] as number, true);
      else if (due.length > 0) this.#catchUp(s, due);
    } catch (error) {
      this.#host.logger.warn(`steward: schedule "${id}" could not fire`, error);
    }
    this.#arm(id);
  }

  /** Missed firings (`due`, oldest first): none, the latest, or each, as the schedule's `catchUp` says. */
  #catchUp(s: ScheduleState, due: readonly number[]): void {
    const latest = due[due.length - 1] as number;
    const mode = s.spec.catchUp;
    if (mode === 'none') {
      this.#skip(s, latest);
    } else if (mode === 'latest') {
      if (due.length > 1) this.#skip(s, due[due.length - 2] as number);
      this.#fire(s, latest, true);
    } else if (s.spec.overlap === 'skip' && this.#lastRunning(s)) {
      // The missed firings go together: held back whole while the last run has not ended.
      this.#skip(s, latest);
    } else {
      for (const fireAt of due) this.#fire(s, fireAt, false);
    }
  }

  /** Submits the firing at `fireAt` (unless `overlap: 'skip'` holds it back) and journals it. */
  #fire(s: ScheduleState, fireAt: number, checkOverlap: boolean): void {
    if (checkOverlap && s.spec.overlap === 'skip' && this.#lastRunning(s)) {
      this.#skip(s, fireAt);
      return;
    }
    const spec: ScheduleSpecRecord = s.spec;
    let task: TaskRecord;
    try {
      task = this.#host.submit(spec.type, spec.input, { ...(spec.options as SubmitOptions | undefined), idempotencyKey: firingKey(s.id, fireAt) });
    } catch (error) {
      this.#host.logger.warn(`steward: schedule "${s.id}" could not submit its ${new Date(fireAt).toISOString()} firing; it is skipped`, error);
      this.#skip(s, fireAt);
      return;
    }
    this.#recordFiring(s, fireAt, task.id);
  }

  #recordFiring(s: ScheduleState, fireAt: number, taskId: string): void {
    const at = this.#host.clock.now();
    this.#host.commit({ type: 'schedule:fired', at, scheduleId: s.id, fireAt, taskId });
    this.#host.emit({ type: 'schedule:fired', scheduleId: s.id, taskId, fireAt, at });
  }

  #skip(s: ScheduleState, through: number): void {
    this.#host.commit({ type: 'schedule:skipped', at: this.#host.clock.now(), scheduleId: s.id, through });
  }

  /** True while the task of the schedule's last firing has not ended. */
  #lastRunning(s: ScheduleState): boolean {
    const task = s.lastTaskId === undefined ? undefined : this.#host.table.tasks.get(s.lastTaskId);
    return task !== undefined && !isTerminal(task.status);
  }
}
