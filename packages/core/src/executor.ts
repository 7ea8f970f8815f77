// `@steward/core/executor`: what an executor author needs, and nothing a user of the
// runtime does. The contract an executor implements, the helpers that turn what went
// wrong into the TaskError an attempt ends with, and the conformance suite that checks
// an executor behaves like the built-in ones. The main entry keeps exporting the
// contract's types and the task-error helpers too, so nothing that imports them from
// `@steward/core` changes. The suite imports `node:test`: import this entry from
// tests, or only for types (`import type`), in code that runs in production.
export type { Executor, ExecutionRequest, ExecutionSink, OrphanReaper, OrphanStop, ProcessGroup } from './executors/executor.js';
export type { ResolvedDefinition, TaskDefinition, DefinitionDefaults } from './model/task-definition.js';
export type { TaskContext, TaskHandler } from './model/task-context.js';
export { TaskFailure, taskError, toTaskError, type TaskError, type TaskErrorCode } from './model/task-error.js';
export { executorConformance, type ExecutorConformanceFactory } from './executors/conformance.js';
export { traceEnv, type TraceCarrier } from './tracing/trace-carrier.js';
