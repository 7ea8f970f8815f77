import type { SignalReceipt } from '../engine/waits.js';
import { JOURNAL_VERSION } from '../journal/journal-record.js';
import { InvalidOptionsError, InvalidStateError, ShuttingDownError, TaskNotFoundError } from '../model/errors.js';
import type { ResolvedRuntimeOptions } from '../model/options.js';
import { checkJournalable, checkPayload } from '../model/payload.js';
import type { TaskRecord } from '../model/task-record.js';
import { isTerminal } from '../model/types.js';
import { checkWaitName } from '../model/waits.js';
import { TaskTimers } from '../scheduling/task-timers.js';
import type { ClusterBackend } from './cluster-backend.js';
import type { ClusterReplica } from './cluster-replica.js';

/** The longest delay Node's timers take (about 24.8 days): a longer wait is armed again on the way. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** What the durable waits of a cluster node need from the engine around them. */
export interface ClusterWaitsHost {
  readonly replica: ClusterReplica;
  readonly backend: ClusterBackend;
  readonly options: ResolvedRuntimeOptions;
  /** False once the runtime has stopped. */
  open(): boolean;
}

/**
 * Durable waits in cluster mode. A claimed task that parks itself is let go by its node
 * (the claim ends; see transportNode.run) and waits in the shared journal. A signal from
 * any node is appended there; every node keeps a timer for every timed wait of the
 * cluster and the first to fire appends the wake-up (the later ones find it over). A
 * wait that is over puts the task back in the claim queue through the replica's onReady.
 */
export class ClusterWaits {
  readonly #host: ClusterWaitsHost;
  readonly #timers: TaskTimers;
  /** Claims that ended with their task parked on a wait: looked at again once released. */
  readonly #parked = new Set<string>();

  constructor(host: ClusterWaitsHost) {
    this.#host = host;
    this.#timers = new TaskTimers(host.options.clock);
    host.replica.onTimedWait((task) => this.arm(task));
  }

  /** When joining: a timer for every timed wait of the cluster. */
  armAll(): void {
    for (const task of this.#host.replica.table.tasks.values()) if (task.status === 'waiting' && task.waitingFor?.until != null) this.arm(task);
  }

  clearAll(): void {
    this.#timers.clearAll();
  }

  /** This node's claim of `id` ended with the task parked on a wait. */
  parked(id: string): void {
    this.#parked.add(id);
  }

  /**
   * A claim the store has let go of. When its task parked itself on a wait that was over
   * before the claim's job was gone (a signal kept, or sent at once), the enqueues of that
   * moment found the job still there: the task is enqueued again now.
   */
  released(id: string): void {
    if (!this.#parked.delete(id)) return;
    const { backend, replica, options } = this.#host;
    void backend
      .caughtUp()
      .then(() => {
        const task = replica.table.tasks.get(id);
        return task?.status === 'queued' ? backend.enqueue([{ id, type: task.type, priority: task.priority }]) : undefined;
      })
      .catch((error: unknown) => options.logger.error(`steward: cannot enqueue task "${id}" again after its wait (a node joining enqueues it)`, error));
  }

  /** A timed wait of the cluster: woken from here when it is due, unless it is over by then. */
  arm(task: Readonly<TaskRecord>): void {
    const waitingFor = task.waitingFor;
    if (waitingFor?.until == null) return;
    const { name, until, kind } = waitingFor;
    const { backend, replica, options } = this.#host;
    const clock = options.clock;
    const due = (): void => {
      const now = replica.table.tasks.get(task.id);
      if (!this.#host.open() || now?.status !== 'waiting' || now.waitingFor?.name !== name) return;
      if (until > clock.now()) return this.#timers.armAt(task.id, Math.min(until, clock.now() + MAX_TIMER_MS), due);
      const reason = kind === 'sleep' ? 'slept' : 'timed_out';
      backend.append([{ v: JOURNAL_VERSION, type: 'task:woken', at: clock.now(), taskId: task.id, name, reason }]).catch((error: unknown) => {
        options.logger.error(`steward: cannot wake task "${task.id}" (another node may)`, error);
      });
    };
    this.#timers.armAt(task.id, Math.min(until, clock.now() + MAX_TIMER_MS), due);
  }

  /** Sends a signal to a task wherever it is: appended to the shared journal; a wait it ends puts the task back in the claim queue. */
  async signal(taskId: string, name: string, payload: unknown): Promise<SignalReceipt> {
    const { backend, replica, options } = this.#host;
    if (!this.#host.open()) throw new ShuttingDownError('the runtime has shut down');
    const problem = checkWaitName(name);
    if (problem !== undefined) throw new InvalidOptionsError(`name ${problem}`);
    const task = typeof taskId === 'string' ? replica.table.tasks.get(taskId) : undefined;
    if (task === undefined) throw new TaskNotFoundError(taskId);
    if (isTerminal(task.status)) throw new InvalidStateError(`task "${taskId}" has ended (${task.status}); it takes no more signals`);
    checkPayload(payload, options.maxPayloadBytes, 'payload');
    checkJournalable(payload, 'payload'); // the shared journal is MessagePack, as a data directory's
    const at = options.clock.now();
    await backend.append([payload === undefined ? { v: JOURNAL_VERSION, type: 'task:signalled', at, taskId, name } : { v: JOURNAL_VERSION, type: 'task:signalled', at, taskId, name, payload }]);
    await backend.caughtUp();
    return { delivered: true, taskStatus: task.status };
  }
}
