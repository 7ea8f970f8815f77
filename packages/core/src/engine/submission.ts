import { InvalidOptionsError, InvalidStateError, QueueFullError, UnknownTaskTypeError } from '../model/errors.js';
import type { SubmittedTask } from '../journal/journal-record.js';
import type { ResolvedRuntimeOptions } from '../model/options.js';
import { resolvePriority } from '../scheduling/priorities.js';
import type { SubmitOptions } from '../model/submit-options.js';
import { checkJournalable, checkPayload } from '../model/payload.js';
import type { TaskTable } from '../journal/reducer.js';
import { describeZodError, submitOptionsSchema } from '../model/schemas.js';
import type { ResolvedDefinition } from '../model/task-definition.js';
import type { TaskRecord } from '../model/task-record.js';
import { normalizeLocks } from '../coordination/lock-table.js';
import { checkWebhookUrl } from '../webhooks/webhook-url.js';

/** What the runtime itself adds to a submission: its workflow, or (a task a transport claimed) the cluster's id for it. */
export interface SubmitInternal {
  readonly workflowId?: string;
  readonly workflowTaskId?: string;
  readonly id?: string;
  /** Checked where it was submitted (a task a transport claimed): its options and payload are not checked again. */
  readonly checked?: boolean;
}

/**
 * Checks a submission and turns it into the task its journal record carries, or
 * finds the task its idempotency key already names. Throws the StewardError of the
 * first thing wrong; nothing is written before every check has passed.
 */
export function prepareSubmission(
  type: string,
  input: unknown,
  options: SubmitOptions | undefined,
  context: {
    definitions: ReadonlyMap<string, ResolvedDefinition>;
    table: TaskTable;
    waiting: number;
    runtime: ResolvedRuntimeOptions;
  },
  internal?: SubmitInternal,
): { existing: TaskRecord } | { task: SubmittedTask } {
  const { definitions, table, runtime } = context;
  if (typeof type !== 'string' || type.length === 0) throw new InvalidOptionsError('type must be a non-empty string');
  const definition = definitions.get(type);
  if (definition === undefined) throw new UnknownTaskTypeError(type);
  if (options !== undefined) {
    if (options === null || typeof options !== 'object') throw new InvalidOptionsError('options must be an object');
    const parsed = internal?.checked === true ? undefined : submitOptionsSchema.safeParse(options);
    if (parsed?.success === false) throw new InvalidOptionsError(describeZodError('options', parsed.error));
    if (options.idempotencyKey !== undefined) {
      const existingId = table.byIdempotencyKey.get(options.idempotencyKey);
      const existing = existingId === undefined ? undefined : table.tasks.get(existingId);
      if (existing !== undefined) {
        if (existing.type !== type) {
          throw new InvalidStateError(`idempotencyKey "${options.idempotencyKey}" already names a task of type "${existing.type}", not "${type}"`);
        }
        return { existing };
      }
    }
  }
  if (context.waiting >= runtime.maxQueue) throw new QueueFullError(runtime.maxQueue);
  if (internal?.checked !== true) {
    checkPayload(input, runtime.maxPayloadBytes);
    if (options?.metadata !== undefined) checkPayload(options.metadata, runtime.maxPayloadBytes, 'options.metadata');
  }
  if (runtime.dataDir !== undefined || runtime.store !== undefined) {
    // A journal that is kept must be able to write what is acknowledged.
    checkJournalable(input, 'input');
    if (options?.metadata !== undefined) checkJournalable(options.metadata, 'options.metadata');
  }
  const priority =
    options?.priority !== undefined
      ? resolvePriority(options.priority, runtime.priorities, 'options.priority')
      : definition.priority ?? runtime.defaultPriority;
  if (options?.webhook !== undefined) {
    const problem = checkWebhookUrl(options.webhook.url, runtime.webhooks.allowPrivateNetworks === true);
    if (problem !== undefined) throw new InvalidOptionsError(`options.webhook.url ${problem}`);
  }
  const rateLimit = options?.rateLimit ?? definition.rateLimit;
  if (rateLimit !== undefined && !Object.hasOwn(runtime.rateLimits, rateLimit)) {
    throw new InvalidOptionsError(`options.rateLimit: no bucket "${rateLimit}" in rateLimits (${Object.keys(runtime.rateLimits).join(', ') || 'none defined'})`);
  }
  for (const bucket of Object.keys(options?.budget ?? {})) {
    if (!Object.hasOwn(runtime.rateLimits, bucket)) throw new InvalidOptionsError(`options.budget.${bucket}: no bucket "${bucket}" in rateLimits`);
  }
  const locks = normalizeLocks(options?.locks ?? definition.locks);
  const lockTimeoutMs = options?.lockTimeoutMs ?? definition.lockTimeoutMs;
  const dependsOn = [...new Set(options?.dependsOn ?? [])];
  for (const [index, dependency] of dependsOn.entries()) {
    // Only known tasks can be named, so a new task can never close a cycle.
    if (!table.tasks.has(dependency)) throw new InvalidOptionsError(`options.dependsOn.${index}: no task with id "${dependency}"`);
  }
  const id = internal?.id ?? runtime.idGenerator();
  if (table.tasks.has(id)) throw new InvalidStateError(internal?.id === undefined ? `idGenerator returned "${id}" twice` : `task "${id}" is already here`);
  return {
    task: {
      id,
      type,
      input,
      priority,
      order: table.nextOrder,
      timeoutMs: options?.timeoutMs,
      retries: options?.retries,
      idempotencyKey: options?.idempotencyKey,
      metadata: options?.metadata,
      dependsOn,
      ...(options?.onDependencyFailure === undefined ? {} : { onDependencyFailure: options.onDependencyFailure }),
      ...(locks.length === 0 ? {} : { locks }),
      ...(rateLimit === undefined ? {} : { rateLimit }),
      ...(lockTimeoutMs === undefined ? {} : { lockTimeoutMs }),
      ...(internal?.workflowId === undefined ? {} : { workflowId: internal.workflowId, workflowTaskId: internal.workflowTaskId }),
      ...(options?.webhook === undefined ? {} : { webhook: { url: options.webhook.url, secret: options.webhook.secret } }),
      ...(options?.concurrencyKey === undefined ? {} : { concurrencyKey: options.concurrencyKey }),
      ...(options?.budget === undefined ? {} : { budget: { ...options.budget } }),
    },
  };
}
