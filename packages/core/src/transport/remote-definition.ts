import { resolveRetryPolicy, type ResolvedDefinition, type TaskDefinition } from '../model/task-definition.js';

/**
 * The stand-in definition of a type another node of the cluster defines: a task of it
 * is checked and submitted here (the defaults of priority, timeout and retries apply)
 * and runs on a node that defines it, under that node's definition.
 */
export function remoteDefinition(type: string): ResolvedDefinition {
  return {
    type,
    kind: 'remote',
    priority: undefined,
    timeoutMs: 0,
    retries: resolveRetryPolicy(undefined, undefined),
    concurrency: Infinity,
    keyConcurrency: Infinity,
    locks: undefined,
    lockTimeoutMs: undefined,
    rateLimit: undefined,
    source: {} as TaskDefinition,
  };
}
