export { processExecutor, ProcessExecutor, PROGRESS_PREFIX, type ProcessExecutorOptions, type ProcessResult } from './process-executor.js';
export type { ProcessTaskDefinition } from './process-definition.js';
