export { createRuntime, Runtime, type ListQuery, type MultipleItem, type ShutdownOptions, type TaskCallback } from './runtime.js';
export { TaskHandle } from './task-handle.js';
export type { SubmitOptions } from './submission.js';
export type {
  RuntimeOptions,
  WorkersOptions,
  Logger,
} from './options.js';
export { DEFAULT_PRIORITIES, RUNTIME_DEFAULTS } from './options.js';
export type {
  TaskDefinition,
  WorkerTaskDefinition,
  InlineTaskDefinition,
  ExternalTaskDefinition,
  DefinitionDefaults,
  RetryOptions,
} from './task-definition.js';
export { clampPercent, type TaskContext, type TaskHandler } from './task-context.js';
export type { Executor, ExecutionRequest, ExecutionSink, OrphanReaper, OrphanStop, ProcessGroup } from './executor.js';
export type { ResolvedDefinition } from './task-definition.js';
export { describeZodError, definitionDefaultsSchema } from './schemas.js';
export type { RuntimeEvent, RuntimeEventMap, RuntimeEventName } from './events.js';
export type { EventDropPolicy, EventSubscriptionOptions } from './event-delivery.js';
export { parseEventId, type FeedEvent, type FeedPosition } from './event-feed.js';
export type { MultiReport } from './multi-report.js';
export type { QueueItem, QueueStatus, RuntimeMetrics } from './status-views.js';
export type {
  OutputChunk,
  ProgressUpdate,
  TaskOutcome,
  TaskProgress,
  TaskSnapshot,
  TaskStatus,
  TerminalStatus,
} from './types.js';
export { TaskFailure, taskError, toTaskError, type TaskError, type TaskErrorCode } from './task-error.js';
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
  StoreVersionError,
  TaskFailedError,
  isStewardError,
  isStewardErrorCode,
  STEWARD_ERROR_CODES,
  type StewardErrorCode,
} from './errors.js';
export type { Clock } from './clock.js';
export type { RecoveryReport } from './journal.js';
export type { SupervisionNode, SupervisionPolicy } from './supervision.js';
export type { LockMode, LockRequest } from './lock-table.js';
export type { RateLimit } from './rate-buckets.js';
export type { ResourceGuardOptions, ResourceSample } from './resource-guard.js';
export { WorkflowHandle } from './workflow-handle.js';
export type {
  PhaseState,
  WorkflowFailedTask,
  WorkflowOutcome,
  WorkflowPhaseInput,
  WorkflowSpec,
  WorkflowState,
  WorkflowStatus,
  WorkflowTaskInput,
} from './workflow-types.js';
export { WorkflowNotFoundError } from './errors.js';
export {
  submitOptionsSchema,
  workflowSpecSchema,
  workflowCreateSchema,
  workflowPhaseSchema,
  workflowTaskSchema,
  prioritySchema,
} from './schemas.js';
export { verifyWebhook, signWebhook, type WebhookHeaders } from './webhook-signature.js';
export type { WebhookOptions, WebhookTarget } from './webhook-dispatcher.js';
export type { WebhookHistoryEntry } from './runtime.js';
export { webhookSchema } from './schemas.js';
export type { SummaryReport, TypeSummary } from './summary-report.js';
export type { ReportsOptions } from './report-schedule.js';
