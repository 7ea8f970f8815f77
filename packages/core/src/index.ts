export { createRuntime, type CreateRuntimeOptions } from './api/create-runtime.js';
export { localTransport, type ClaimedTask, type Transport, type TransportNode } from './transport/transport.js';
export { clusterTransport } from './transport/cluster-transport.js';
export type { ClusterBackend, ControlMessage, EnqueuedTask } from './transport/cluster-backend.js';
export { LeaseTable, type GateClaim, type HoldAnswer, type RateChange, type RateClaim } from './transport/lease-table.js';
export type { JournalRecord } from './journal/journal-record.js';
export { Runtime, type ListQuery, type MultipleItem, type ShutdownOptions, type TaskCallback } from './api/runtime.js';
export { TaskHandle } from './api/task-handle.js';
export type { SubmitOptions } from './model/submit-options.js';
export type { RuntimeOptions } from './model/options.js';
export type { WorkersOptions } from './executors/worker/worker-options.js';
export type { Logger } from './model/logger.js';
export { RUNTIME_DEFAULTS } from './model/options.js';
export { DEFAULT_PRIORITIES } from './scheduling/priorities.js';
export type {
  TaskDefinition,
  WorkerTaskDefinition,
  InlineTaskDefinition,
  ExternalTaskDefinition,
  DefinitionDefaults,
  RetryOptions,
} from './model/task-definition.js';
export { clampPercent, type TaskContext, type TaskHandler } from './model/task-context.js';
export type { WaitingFor } from './model/waits.js';
export type { SignalReceipt } from './engine/waits.js';
export type { Executor, ExecutionRequest, ExecutionSink, OrphanReaper, OrphanStop, ProcessGroup } from './executors/executor.js';
export type { ResolvedDefinition } from './model/task-definition.js';
export { describeZodError, definitionDefaultsSchema } from './model/schemas.js';
export type { RuntimeEvent, RuntimeEventMap, RuntimeEventName } from './events/events.js';
export type { EventDropPolicy, EventSubscriptionOptions } from './events/event-delivery.js';
export { parseEventId, type FeedEvent, type FeedPosition } from './events/event-feed.js';
export type { MultiReport } from './reports/multi-report.js';
export type { QueueItem, QueueStatus, RuntimeMetrics } from './api/status-views.js';
export type {
  OutputChunk,
  ProgressUpdate,
  TaskOutcome,
  TaskProgress,
  TaskResources,
  TaskSnapshot,
  TaskStatus,
  TerminalStatus,
} from './model/types.js';
export { TaskFailure, taskError, toTaskError, type TaskError, type TaskErrorCode } from './model/task-error.js';
export {
  StewardError,
  InvalidOptionsError,
  UnknownTaskTypeError,
  TaskNotFoundError,
  QueueFullError,
  ShuttingDownError,
  PayloadTooLargeError,
  NotSerializableError,
  InvalidStateError,
  StoreLockedError,
  CommandNotAllowedError,
  StoreCorruptError,
  StoreFullError,
  StoreUnavailableError,
  TransportUnavailableError,
  StoreVersionError,
  TaskFailedError,
  isStewardError,
  isStewardErrorCode,
  STEWARD_ERROR_CODES,
  type StewardErrorCode,
} from './model/errors.js';
export type { Clock } from './time/clock.js';
export type { RecoveryReport } from './journal/journal.js';
export type { SupervisionNode, SupervisionPolicy } from './supervision/supervision.js';
export type { LockMode, LockRequest } from './coordination/lock-table.js';
export type { RateLimit } from './coordination/rate-buckets.js';
export type { ResourceGuardOptions, ResourceSample } from './coordination/resource-guard.js';
export { WorkflowHandle } from './api/workflow-handle.js';
export type {
  PhaseState,
  WorkflowFailedTask,
  WorkflowOutcome,
  WorkflowPhaseInput,
  WorkflowSpec,
  WorkflowState,
  WorkflowStatus,
  WorkflowTaskInput,
} from './workflows/workflow-types.js';
export { WorkflowNotFoundError } from './model/errors.js';
export { ScheduleNotFoundError } from './model/errors.js';
export { scheduleIdSchema, scheduleSpecSchema, SCHEDULE_DEFAULTS, type ScheduleInfo, type ScheduleSpec } from './schedules/schedule-spec.js';
export {
  submitOptionsSchema,
  workflowSpecSchema,
  workflowCreateSchema,
  workflowPhaseSchema,
  workflowTaskSchema,
  prioritySchema,
} from './model/schemas.js';
export { verifyWebhook, signWebhook, type WebhookHeaders } from './webhooks/webhook-signature.js';
export type { WebhookTarget } from './webhooks/webhook-dispatcher.js';
export type { WebhookOptions } from './webhooks/webhook-options.js';
export type { WebhookHistoryEntry } from './api/runtime.js';
export { webhookSchema } from './model/schemas.js';
export type { SummaryReport, TypeSummary } from './reports/summary-report.js';
export type { ReportsOptions } from './reports/report-schedule.js';
