export { processExecutor, ProcessExecutor, PROGRESS_PREFIX, type ProcessExecutorOptions, type ProcessResult } from './process/process-executor.js';
export type { ProcessTaskDefinition } from './process/process-definition.js';
export { createHttpHost, type HttpHost, type HttpHostOptions } from './http/http-host.js';
export type { CommandTasks } from './http/routes-tasks.js';
export type { EventStreamOptions } from './http/events-stream.js';
export { ProcessOrphanReaper, type OrphanReaperOptions } from './process/orphan-reaper.js';
export { bullmqTransport, type BullmqTransportOptions } from './cluster/bullmq-transport.js';
export { redisUrl, type RedisConnection } from './cluster/redis-url.js';
