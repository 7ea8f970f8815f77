import type { TaskError } from '../model/task-error.js';
import type { OutputChunk } from '../model/types.js';
import type { WaitingFor } from '../model/waits.js';
import type { WorkflowFailedTask } from '../workflows/workflow-types.js';
import type { MultiReport } from '../reports/multi-report.js';

interface TaskEventBase {
  taskId: string;
  at: number;
}

interface WorkflowEventBase {
  workflowId: string;
  taskId?: undefined;
  at: number;
}

/**
 * Every event of the runtime by name (`noun:verb`), each with one payload object.
 * Subscribe with `rt.events$`, `rt.events(options)` or `rt.on(name, listener)`.
 */
export interface RuntimeEventMap {
  'task:submitted': TaskEventBase & { type: 'task:submitted'; taskType: string; priority: number };
  'task:queued': TaskEventBase & { type: 'task:queued'; priority: number };
  'task:started': TaskEventBase & { type: 'task:started'; attempt: number; taskType: string };
  'task:progress': TaskEventBase & { type: 'task:progress'; percent: number; message?: string };
  'task:output': TaskEventBase & { type: 'task:output'; stream: OutputChunk['stream']; data: string };
  'task:retrying': TaskEventBase & { type: 'task:retrying'; attempt: number; delayMs: number; error: TaskError };
  'task:completed': TaskEventBase & { type: 'task:completed'; result: unknown; attempts: number; durationMs: number };
  'task:failed': TaskEventBase & { type: 'task:failed'; error: TaskError; attempts: number };
  'task:cancelled': TaskEventBase & { type: 'task:cancelled'; reason?: string; attempts: number };
  'task:timed_out': TaskEventBase & { type: 'task:timed_out'; error: TaskError; attempts: number };
  'supervisor:quarantined': TaskEventBase & {
    type: 'supervisor:quarantined';
    supervisor: string;
    taskType: string;
    /** When tasks of the type may run again. */
    until: number;
    error: TaskError;
  };
  'lock:waiting': TaskEventBase & { type: 'lock:waiting'; lock: string };
  'lock:acquired': TaskEventBase & { type: 'lock:acquired'; locks: string[]; waitedMs: number };
  'ratelimit:waiting': TaskEventBase & { type: 'ratelimit:waiting'; bucket: string; until: number };
  /** The resource guard began holding admission back. */
  'resource:throttled': {
    type: 'resource:throttled';
    taskId?: undefined;
    at: number;
    cpuPercent: number;
    memoryMb: number;
    concurrency: number;
    /** 'throttle': work below `protect` keeps `floor` slots; 'pause': it is all held. */
    mode: 'throttle' | 'pause';
    /** Slots kept for work below `protect` (0 in mode 'pause'). */
    floor: number;
  };
  /** The resource guard is back at full concurrency. */
  'resource:recovered': { type: 'resource:recovered'; taskId?: undefined; at: number; cpuPercent: number; memoryMb: number; concurrency: number; mode: 'throttle' | 'pause'; floor: number };
  'workflow:started': WorkflowEventBase & { type: 'workflow:started'; name: string };
  'workflow:phase-started': WorkflowEventBase & { type: 'workflow:phase-started'; phaseId: string };
  'workflow:phase-completed': WorkflowEventBase & { type: 'workflow:phase-completed'; phaseId: string };
  'workflow:completed': WorkflowEventBase & { type: 'workflow:completed'; durationMs: number };
  'workflow:failed': WorkflowEventBase & { type: 'workflow:failed'; failedTasks: WorkflowFailedTask[] };
  'workflow:cancelled': WorkflowEventBase & { type: 'workflow:cancelled'; reason?: string };
  'webhook:delivered': {
    type: 'webhook:delivered';
    taskId?: string;
    workflowId?: string;
    deliveryId: string;
    attempt: number;
    status: number;
    at: number;
  };
  /** One attempt failed; `final` when the delivery is given up. */
  'webhook:failed': {
    type: 'webhook:failed';
    taskId?: string;
    workflowId?: string;
    deliveryId: string;
    attempt: number;
    final: boolean;
    error: string;
    at: number;
  };
  'task:step': TaskEventBase & { type: 'task:step'; name: string };
  /** A durable wait or sleep suspended the task: what it waits for (`until` in epoch ms, when it has an end). */
  'task:waiting': TaskEventBase & { type: 'task:waiting'; waitingFor: WaitingFor };
  /** A signal was sent to the task (and journaled): taken by its wait, or kept for the first wait of that name. */
  'task:signalled': TaskEventBase & { type: 'task:signalled'; name: string };
  'attempt:interrupted': TaskEventBase & { type: 'attempt:interrupted'; attempt: number; reason: string };
  /** Replay met an undecodable record at the journal's tail and stopped before it (a torn last write). */
  'journal:torn-tail': { type: 'journal:torn-tail'; taskId?: undefined; seq: number; at: number };
  /** A snapshot of the journal could not be taken; the journal carries on without it and tries again later. */
  'journal:snapshot-failed': { type: 'journal:snapshot-failed'; taskId?: undefined; code: string; message: string; at: number };
  /** The journal cannot be written (a full disk, say): submissions are refused until it can again. */
  'journal:write-failed': { type: 'journal:write-failed'; taskId?: undefined; code: string; message: string; at: number };
  /** The journal can be written again after a failure; what was held back has been written. */
  'journal:write-recovered': { type: 'journal:write-recovered'; taskId?: undefined; at: number };
  'supervisor:restarted': TaskEventBase & {
    type: 'supervisor:restarted';
    supervisor: string;
    restarts: number;
    error: TaskError;
  };
  /**
   * This subscriber fell behind and `count` events, the oldest waiting, were dropped
   * for it alone; it comes just before the first event after the gap. Not journaled,
   * never seen by other subscribers; a `policy: 'block'` subscription never gets it.
   */
  'stream:dropped': { type: 'stream:dropped'; taskId?: undefined; count: number; at: number };
  /** An `executeMultiple` batch was accepted: its tasks, in the order given. */
  'aggregation:started': { type: 'aggregation:started'; taskId?: undefined; aggregationId: string; taskIds: string[]; at: number };
  /** Every task of the batch has ended: its report, as `executeMultiple` returns it. */
  'aggregation:completed': { type: 'aggregation:completed'; taskId?: undefined; aggregationId: string; report: MultiReport; at: number };
  /** A schedule's firing submitted its task; `fireAt` is the time it stands for (earlier than `at` for a catch-up run). */
  'schedule:fired': { type: 'schedule:fired'; taskId: string; scheduleId: string; fireAt: number; at: number };
}

/** Name of a runtime event. */
export type RuntimeEventName = keyof RuntimeEventMap;

/** Any runtime event; narrow on `type`. */
export type RuntimeEvent = RuntimeEventMap[RuntimeEventName];

/** The events that end a task. */
export const TERMINAL_EVENTS: ReadonlySet<RuntimeEventName> = new Set([
  'task:completed',
  'task:failed',
  'task:cancelled',
  'task:timed_out',
]);

/** Every event name, for validating `rt.on(name)`. */
export const RUNTIME_EVENT_NAMES: ReadonlySet<string> = new Set<RuntimeEventName>([
  'task:submitted',
  'task:queued',
  'task:started',
  'task:progress',
  'task:output',
  'task:retrying',
  'task:completed',
  'task:failed',
  'task:cancelled',
  'task:timed_out',
  'task:step',
  'task:waiting',
  'task:signalled',
  'lock:waiting',
  'lock:acquired',
  'ratelimit:waiting',
  'resource:throttled',
  'resource:recovered',
  'workflow:started',
  'workflow:phase-started',
  'workflow:phase-completed',
  'workflow:completed',
  'workflow:failed',
  'workflow:cancelled',
  'webhook:delivered',
  'webhook:failed',
  'attempt:interrupted',
  'supervisor:restarted',
  'supervisor:quarantined',
  'journal:torn-tail',
  'journal:snapshot-failed',
  'journal:write-failed',
  'journal:write-recovered',
  'aggregation:started',
  'aggregation:completed',
  'schedule:fired',
]);
