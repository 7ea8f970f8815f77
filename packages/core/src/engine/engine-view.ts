import type { Observable } from 'rxjs';
import type { Admission } from '../coordination/admission.js';
import type { ResourceGuard } from '../coordination/resource-guard.js';
import type { RuntimeEvent } from '../events/events.js';
import type { FeedEvent, FeedPosition } from '../events/event-feed.js';
import type { RecoveryReport } from '../journal/journal.js';
import type { TaskTable } from '../journal/reducer.js';
import type { ResolvedRuntimeOptions } from '../model/options.js';
import type { SubmitOptions } from '../model/submit-options.js';
import type { ResolvedDefinition, TaskDefinition } from '../model/task-definition.js';
import type { TaskRecord } from '../model/task-record.js';
import type { OutputChunk, TaskOutcome } from '../model/types.js';
import type { TaskOutput } from '../output/task-output.js';
import type { MetricsCollector } from '../reports/metrics.js';
import type { SupervisionNode } from '../supervision/supervision.js';
import type { Workflows } from '../workflows/workflows.js';
import type { Schedules } from '../schedules/schedules.js';
import type { Waits } from './waits.js';

/** The task table as the facade reads it: it never writes a record or a map. */
export type TableView = Pick<TaskTable, 'agingMs' | 'waiting'> & {
  readonly tasks: ReadonlyMap<string, Readonly<TaskRecord>>;
  readonly workflows: TaskTable['workflows'] extends Map<string, infer W> ? ReadonlyMap<string, Readonly<W>> : never;
  readonly deliveries: TaskTable['deliveries'] extends Map<string, infer D> ? ReadonlyMap<string, Readonly<D>> : never;
  readonly deliveriesByOwner: ReadonlyMap<string, readonly string[]>;
};

/** Admission's figures and reasons, read-only. */
export type AdmissionView = Pick<Admission, 'reasonOf' | 'lockWaits' | 'lockWaitMs' | 'rateWaits' | 'belowProtectRunning'> & {
  readonly locks: Pick<Admission['locks'], 'held'>;
  readonly buckets: Pick<Admission['buckets'], 'names' | 'available' | 'inWindow'>;
  readonly parked: Pick<Admission['parked'], 'items' | 'size'>;
};

/** What a workflow handle may do: build, start, read and cancel its workflow. */
export type WorkflowCommands = Pick<Workflows, 'addPhase' | 'addTask' | 'status' | 'outcome'> & {
  [K in 'create' | 'start' | 'cancel']: (...args: Parameters<Workflows[K]>) => ReturnType<Workflows[K]> | Promise<ReturnType<Workflows[K]>>;
};

/** What the facade may do with schedules: set, list, pause, resume, remove (in cluster mode a command answers once its record is in the shared store). */
export type ScheduleCommands = Pick<Schedules, 'list' | 'info'> & {
  [K in 'set' | 'pause' | 'resume' | 'remove']: (...args: Parameters<Schedules[K]>) => ReturnType<Schedules[K]> | Promise<ReturnType<Schedules[K]>>;
};

/**
 * The engine as the facade, the handles, the status views and the output follower
 * see it: what they may read (never a mutable field: the table, queues and services
 * only through read-only types, the events as an Observable nobody else can emit on)
 * and the commands of the public API. The engine implements it; only the engine
 * changes state and emits events.
 */
export interface EngineView {
  readonly options: ResolvedRuntimeOptions;
  readonly state: 'running' | 'stopping' | 'stopped';
  /** Cluster mode: this node's name in the cluster (undefined on one machine). */
  readonly node?: string;
  readonly startedAt: number;
  /** What recovery found when the runtime opened. */
  readonly recovery: RecoveryReport | undefined;
  /** Sequence number of the newest journal record. */
  readonly journalSeq: number;
  /** Every event from now on; completes at shutdown. */
  readonly events$: Observable<RuntimeEvent>;
  /** Every event from now on with its resumable id (see EventFeed). */
  readonly feed$: Observable<FeedEvent>;
  readonly table: TableView;
  readonly output: Pick<TaskOutput, 'onDisk' | 'buffer' | 'count' | 'stored' | 'sessionId'>;
  /** A task's output where it is not this engine's own (cluster mode: from the shared store); undefined to read `output`. */
  followOutput?(id: string, follow: boolean): AsyncIterable<OutputChunk>;
  readonly metrics: Pick<MetricsCollector, 'submitted' | 'completed' | 'failed' | 'cancelled' | 'timedOut' | 'retried' | 'crashed' | 'durations' | 'throughputPerSec'>;
  readonly admission: AdmissionView;
  readonly guard: Pick<ResourceGuard, 'throttled' | 'effectiveConcurrency' | 'last' | 'mode' | 'floor'> | undefined;
  /** When the resource guard throttled, in this process (for reports). */
  readonly throttlePeriods: ReadonlyArray<Readonly<{ from: number; to?: number }>>;
  readonly queuedCount: number;
  readonly retryingCount: number;
  readonly runningCount: number;
  /** Crashed executions restarted, over every task type. */
  readonly restarts: number;
  /** Number of threads of the worker pool, or 0 when none was started. */
  readonly workerThreads: number;
  readonly workflows: WorkflowCommands;
  readonly schedules: ScheduleCommands;
  /** Durable waits: sending a signal. */
  readonly waits: Pick<Waits, 'signal'>;
  /** Ready tasks in the order they would be taken. */
  readyTasks(): readonly Readonly<TaskRecord>[];
  /** Why a ready task of `type` (with concurrency key `key`) is not running now, or undefined when nothing but its turn holds it. */
  blockReason(type: string, key?: string): string | undefined;
  /** The supervision tree as plain data. */
  supervision(): SupervisionNode;
  replayEvents(afterSeq: number): AsyncIterable<{ seq: number; event: RuntimeEvent }>;
  replayFeed(after: FeedPosition): AsyncIterable<FeedEvent & { seq: number }>;

  define(type: string, definition: TaskDefinition): void;
  isDefined(type: string): boolean;
  /** The definition of `type` as resolved here, if this runtime defines it. */
  definitionOf(type: string): ResolvedDefinition | undefined;
  /** Journals and queues a task; `durable` settles once it is acknowledged (read `task.id` after it: a cluster may answer with the task an idempotency key already names). */
  submit(type: string, input: unknown, options: SubmitOptions | undefined): { task: Readonly<TaskRecord>; durable: Promise<void> };
  /** Cancels a task (in a cluster, wherever it runs: hence the promise). */
  cancel(id: string, reason?: string): { cancelled: boolean; status: TaskRecord['status'] } | Promise<{ cancelled: boolean; status: TaskRecord['status'] }>;
  retry(id: string): Readonly<TaskRecord> | Promise<Readonly<TaskRecord>>;
  outcome(id: string): Promise<TaskOutcome>;
  shutdown(timeoutMs: number, drain: boolean): Promise<void>;
  /** Emits an event the facade itself stands for (an aggregation's start and end): the engine is still the one that emits. */
  announce(event: RuntimeEvent): void;
}
