import { pathToFileURL } from 'node:url';
import { isAbsolute } from 'node:path';
import { DEFAULT_RETRY_POLICY, type ResolvedRetryPolicy } from '../scheduling/backoff.js';
import { InvalidOptionsError } from './errors.js';
import { resolvePriority } from '../scheduling/priorities.js';
import type { WorkersOptions } from '../executors/worker/worker-options.js';
import type { z } from 'zod';
import {
  definitionDefaultsSchema,
  describeZodError,
  inlineDefinitionSchema,
  workerDefinitionSchema,
  type retriesSchema,
} from './schemas.js';
import type { TaskHandler } from './task-context.js';

/**
 * Retry options as users write them (defaults in `DEFAULT_RETRY_POLICY`):
 * - `attempts`: retries after the first try; 0 never retries (default 0).
 * - `backoff`: 'fixed' or 'exponential' (default 'exponential').
 * - `delayMs`: first delay (default 1_000).
 * - `maxDelayMs`: cap of any delay (default 60_000).
 * - `jitter`: spread delays randomly over [delay/2, delay] (default true).
 */
export type RetryOptions = z.input<typeof retriesSchema>;

/**
 * Defaults a definition may carry for its tasks (`priority`, `timeoutMs`, `retries`,
 * `locks`, `lockTimeoutMs`, `rateLimit`, as in `SubmitOptions`; a submission's own
 * replace them), and of the type itself:
 * - `concurrency`: at most this many tasks of this type run at once (default: no limit
 *   beyond the runtime's).
 * - `keyConcurrency`: at most this many tasks of this type with the same `concurrencyKey`
 *   run at once (default: no limit); tasks without a key are not limited by it.
 * - `supervision`: crash intensity and quarantine of this type, `{ maxRestarts, withinMs,
 *   quarantineMs }` (default: the runtime's `supervision`).
 */
export type DefinitionDefaults = z.input<typeof definitionDefaultsSchema>;

/**
 * A task type run in a worker thread: `module`'s export `export` is the handler.
 * - `module`: a URL, or an absolute path, of the module.
 * - `export`: the name of the handler's export (default 'default').
 * - `resourceLimits`: V8 limits of the threads running this type (they get a pool of
 *   their own) (default: the runtime's `workers.resourceLimits`).
 */
export type WorkerTaskDefinition = z.input<typeof workerDefinitionSchema>;

/** A task type run on the main thread. */
export interface InlineTaskDefinition<I = any, O = unknown> extends DefinitionDefaults {
  handler: TaskHandler<I, O>;
}

/** A task type run by an executor from outside core (a `command` goes to kind `process`). */
export interface ExternalTaskDefinition extends DefinitionDefaults {
  command: string | ((input: any) => string);
  [option: string]: unknown;
}

/** Any task definition. (The last member lets an executor's own definition type, such as the process executor's, be passed as it is.) */
export type TaskDefinition =
  | WorkerTaskDefinition
  | InlineTaskDefinition
  | ExternalTaskDefinition
  | (DefinitionDefaults & { command: string | ((input: any) => string) });

/** A definition after validation: which executor runs it and its filled-in defaults. */
export interface ResolvedDefinition {
  readonly type: string;
  readonly kind: string;
  readonly priority: number | undefined;
  readonly timeoutMs: number;
  readonly retries: ResolvedRetryPolicy;
  readonly concurrency: number;
  /** At most this many of one concurrency key run at once. */
  readonly keyConcurrency: number;
  readonly locks: DefinitionDefaults['locks'];
  readonly lockTimeoutMs: number | undefined;
  readonly rateLimit: string | undefined;
  /** Worker kind: the module's URL as a string. */
  readonly moduleUrl?: string;
  readonly exportName?: string;
  readonly resourceLimits?: WorkersOptions['resourceLimits'];
  /** Inline kind. */
  readonly handler?: TaskHandler;
  /** The definition as given, for executors from outside core. */
  readonly source: TaskDefinition;
}

/** Defaults of a definition's own fields (its retry policy's are `DEFAULT_RETRY_POLICY`). */
export const DEFINITION_DEFAULTS = Object.freeze({
  /** No deadline. */
  timeoutMs: 0,
  /** No limit beyond the runtime's `concurrency`. */
  concurrency: Infinity,
  /** No limit per concurrency key. */
  keyConcurrency: Infinity,
  /** The export of a worker module that is the handler. */
  export: 'default',
});

/** Picks the executor kind of a definition from the field that names its work. */
export function kindOf(definition: object): string {
  if ('module' in definition) return 'worker';
  if ('handler' in definition) return 'inline';
  if ('command' in definition) return 'process';
  return 'unknown';
}

/** Fills a retry policy from partial options and a base policy. */
export function resolveRetryPolicy(options: RetryOptions | undefined, base: ResolvedRetryPolicy = DEFAULT_RETRY_POLICY): ResolvedRetryPolicy {
  if (options === undefined) return base;
  return Object.freeze({
    attempts: options.attempts ?? base.attempts,
    backoff: options.backoff ?? base.backoff,
    delayMs: options.delayMs ?? base.delayMs,
    maxDelayMs: options.maxDelayMs ?? base.maxDelayMs,
    jitter: options.jitter ?? base.jitter,
  });
}

function moduleUrlOf(module: URL | string, path: string): string {
  if (module instanceof URL) return module.href;
  if (/^(file|data):/.test(module)) return module;
  if (isAbsolute(module)) return pathToFileURL(module).href;
  throw new InvalidOptionsError(`${path}.module must be a URL or an absolute path; got "${module}"`);
}

/**
 * Validates a definition. Worker and inline definitions are checked here; a
 * definition of another kind must have an executor of that kind, which checks
 * its own fields.
 */
export function resolveDefinition(
  type: string,
  definition: TaskDefinition,
  priorities: Readonly<Record<string, number>>,
  externalKinds: ReadonlySet<string>,
): ResolvedDefinition {
  // The type is checked before it is put in any message: a symbol or an object without toString would throw a TypeError there.
  if (typeof type !== 'string' || type.length === 0) throw new InvalidOptionsError('type must be a non-empty string');
  const path = `definition "${type}"`;
  if (definition === null || typeof definition !== 'object') throw new InvalidOptionsError(`${path} must be an object`);
  const kind = kindOf(definition);
  if (kind === 'unknown') {
    throw new InvalidOptionsError(`${path} needs one of module (worker thread), handler (inline) or command (process)`);
  }
  if (kind === 'worker' || kind === 'inline') {
    const schema = kind === 'worker' ? workerDefinitionSchema : inlineDefinitionSchema;
    const parsed = schema.safeParse(definition);
    if (!parsed.success) throw new InvalidOptionsError(describeZodError(path, parsed.error));
  } else if (!externalKinds.has(kind)) {
    throw new InvalidOptionsError(
      `${path} is a ${kind} task but the runtime has no executor of kind "${kind}"; pass one in options.executors (processExecutor() from @steward/adapters)`,
    );
  } else {
    // The executor checks its own fields; the defaults every definition may carry are checked here.
    const parsed = definitionDefaultsSchema.passthrough().safeParse(definition);
    if (!parsed.success) throw new InvalidOptionsError(describeZodError(path, parsed.error));
  }
  const worker = definition as WorkerTaskDefinition;
  return Object.freeze({
    type,
    kind,
    priority: definition.priority === undefined ? undefined : resolvePriority(definition.priority, priorities, `${path}.priority`),
    timeoutMs: definition.timeoutMs ?? DEFINITION_DEFAULTS.timeoutMs,
    retries: resolveRetryPolicy(definition.retries),
    concurrency: definition.concurrency ?? DEFINITION_DEFAULTS.concurrency,
    keyConcurrency: definition.keyConcurrency ?? DEFINITION_DEFAULTS.keyConcurrency,
    locks: definition.locks,
    lockTimeoutMs: definition.lockTimeoutMs,
    rateLimit: definition.rateLimit,
    moduleUrl: kind === 'worker' ? moduleUrlOf(worker.module, path) : undefined,
    exportName: kind === 'worker' ? worker.export ?? DEFINITION_DEFAULTS.export : undefined,
    resourceLimits: kind === 'worker' ? worker.resourceLimits : undefined,
    handler: kind === 'inline' ? (definition as InlineTaskDefinition).handler : undefined,
    source: definition,
  });
}
