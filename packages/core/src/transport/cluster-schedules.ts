import type { ScheduleCommands } from '../engine/engine-view.js';
import type { ResolvedRuntimeOptions } from '../model/options.js';
import type { SubmitOptions } from '../model/submit-options.js';
import type { TaskRecord } from '../model/task-record.js';
import type { ScheduleInfo, ScheduleSpec } from '../schedules/schedule-spec.js';
import { Schedules } from '../schedules/schedules.js';
import type { ClusterBackend } from './cluster-backend.js';
import type { ClusterReplica } from './cluster-replica.js';
import { ClusterLease } from './cluster-lease.js';
import { OwnRecords } from './own-records.js';

/** What the cluster's schedules need from the node around them. */
export interface ClusterSchedulesHost {
  readonly backend: ClusterBackend;
  readonly replica: ClusterReplica;
  readonly options: ResolvedRuntimeOptions;
  /** The schedules of this node's runtime options: set when it comes to lead. */
  readonly configured: ResolvedRuntimeOptions['schedules'];
  submit(type: string, input: unknown, options: SubmitOptions): { task: Readonly<TaskRecord>; durable: Promise<void> };
  open(): boolean;
}

/**
 * Schedules in cluster mode: kept in the shared journal (every node lists them, and
 * sets, pauses, resumes or removes them), fired by one node only, the one that holds
 * the leader lease in the shared store (renewed three times a lease). When that node
 * stops or dies, another takes the lease (at once on a clean stop, after the lease on a
 * death) and catches up what was missed, as a restarted process does; each firing
 * submits with the idempotency key `schedule:<id>:<fire time>`, which holds
 * cluster-wide, so a firing is one task however the lease changed hands.
 */
export class ClusterSchedules implements ScheduleCommands {
  readonly #schedules: Schedules;
  readonly #lease: ClusterLease;
  #closed = false;
  readonly #records: OwnRecords;

  constructor(host: ClusterSchedulesHost) {
    const { options, replica } = host;
    const records = (this.#records = new OwnRecords(host.backend, replica, options.logger));
    this.#schedules = new Schedules(
      {
        table: replica.table,
        clock: options.clock,
        logger: options.logger,
        commit: (record) => records.commit(record),
        submit: (type, input, submitOptions) => {
          const { task, durable } = host.submit(type, input, submitOptions);
          records.track(durable, `a scheduled ${type} task`);
          return task as TaskRecord;
        },
        emit: (event) => replica.emit(event),
        isOpen: () => host.open() && !this.#closed,
        isDefined: () => true, // a type may be defined on any node
        leads: () => this.#lease.held,
      },
      host.configured,
    );
    // As after a restart when it comes to lead: a firing cut short is recorded, what was missed is caught up, every schedule armed.
    this.#lease = new ClusterLease(host.backend, options, 'schedules', { gained: () => this.#schedules.recover(), lost: () => this.#schedules.stop() });
  }

  /** Starts asking for the lease. */
  start(): void {
    this.#lease.start();
  }

  async set(id: string, spec: ScheduleSpec): Promise<ScheduleInfo> {
    this.#schedules.set(id, spec);
    return this.#answer(id);
  }
  list(): ScheduleInfo[] {
    return this.#schedules.list();
  }
  info(id: string): ScheduleInfo | undefined {
    return this.#schedules.info(id);
  }
  async pause(id: string): Promise<ScheduleInfo> {
    this.#schedules.pause(id);
    return this.#answer(id);
  }
  async resume(id: string): Promise<ScheduleInfo> {
    this.#schedules.resume(id);
    return this.#answer(id);
  }
  async remove(id: string): Promise<boolean> {
    const removed = this.#schedules.remove(id);
    await this.#records.stored();
    return removed;
  }

  /** A schedule record was applied here (from any node): the leader arms that schedule as it now is. */
  applied(scheduleId: string): void {
    if (this.#lease.held) this.#schedules.refresh(scheduleId);
  }

  /** A lease was let go somewhere: this node may lead now. */
  freed(): void {
    this.#lease.freed();
  }

  /** Stops firing and lets the lease go, so another node leads at once. */
  async stop(): Promise<void> {
    this.#closed = true;
    await this.#lease.stop();
    this.#schedules.stop();
    await this.#records.stored().catch(() => undefined);
  }

  /** Once the command's records are in the store: its answer. */
  async #answer(id: string): Promise<ScheduleInfo> {
    await this.#records.stored();
    return this.#schedules.info(id) as ScheduleInfo;
  }
}
