import { z } from 'zod';

// One schema per shape, shared by the library, the HTTP host and the MCP tools,
// so a bad value gets the same answer wherever it comes in.

/** A function, of the type `F` (zod checks only that it is a function). */
export function fnSchema<F extends (...args: never[]) => unknown>() {
  return z.custom<F>((value) => typeof value === 'function', { message: 'must be a function' });
}

/** An object with each of `methods` a function (own or inherited), of the type `T`. */
export function hasMethods<T extends object>(what: string, methods: readonly string[]) {
  return z.custom<T>(
    (v) => typeof v === 'object' && v !== null && methods.every((m) => typeof (v as Record<string, unknown>)[m] === 'function'),
    { message: `must be ${what}, an object with the methods ${methods.join(', ')}` },
  );
}

/**
 * A value checked by `schema` but typed as `T`: for shapes that carry functions or
 * class instances, whose TypeScript type says more than zod can. Each issue of
 * `schema` is reported as it is (same path, same message).
 */
export function shapedAs<T>(schema: z.ZodType) {
  return z.custom<T>().superRefine((value, ctx) => {
    const parsed = schema.safeParse(value);
    if (!parsed.success) for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
  });
}

/** A priority: a level name (resolved against `priorities`) or a number. */
export const prioritySchema = z.union([
  z.string().min(1),
  z.number().finite().min(-1_000_000).max(1_000_000),
]);

/** Retry policy of a task. `attempts` counts retries after the first try. */
export const retriesSchema = z.strictObject({
  attempts: z.number().int().min(0).max(1_000).optional(),
  backoff: z.enum(['fixed', 'exponential']).optional(),
  delayMs: z.number().int().min(0).max(86_400_000).optional(),
  maxDelayMs: z.number().int().min(0).max(7 * 86_400_000).optional(),
  jitter: z.boolean().optional(),
});

const timeoutSchema = z.number().int().min(0).max(30 * 86_400_000);

/** Where an outcome is POSTed, and the secret that signs it. */
export const webhookSchema = z.strictObject({
  url: z.string().min(1).max(2_048),
  secret: z.string().min(1).max(1_024),
});

/** Options accepted by `submit` and its sibling modes. */
export const submitOptionsSchema = z.strictObject({
  priority: prioritySchema.optional(),
  timeoutMs: timeoutSchema.optional(),
  retries: retriesSchema.optional(),
  idempotencyKey: z.string().min(1).max(512).optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
  dependsOn: z.array(z.string().min(1)).max(10_000).optional(),
  onDependencyFailure: z.enum(['fail', 'run']).optional(),
  locks: z
    .array(z.union([z.string().min(1), z.strictObject({ name: z.string().min(1), mode: z.enum(['exclusive', 'shared']).optional() })]))
    .max(1_000)
    .optional(),
  lockTimeoutMs: timeoutSchema.optional(),
  rateLimit: z.string().min(1).optional(),
  webhook: webhookSchema.optional(),
  concurrencyKey: z.string().min(1).max(512).optional(),
  budget: z.record(z.string().min(1), z.number().finite().min(0)).optional(),
});

/** Restart intensity of a task type and the length of its quarantine. */
export const supervisionSchema = z.strictObject({
  maxRestarts: z.number().int().min(0).max(1_000_000).optional(),
  withinMs: z.number().int().min(1).optional(),
  quarantineMs: z.number().int().min(0).optional(),
});

/** The defaults a task definition may carry for its tasks, plus its own concurrency. */
export const definitionDefaultsSchema = z.object({
  locks: submitOptionsSchema.shape.locks,
  lockTimeoutMs: timeoutSchema.optional(),
  rateLimit: z.string().min(1).optional(),
  /** Crash intensity and quarantine of this type. */
  supervision: supervisionSchema.optional(),
  priority: prioritySchema.optional(),
  timeoutMs: timeoutSchema.optional(),
  retries: retriesSchema.optional(),
  /** At most this many tasks of this type run at once. */
  concurrency: z.number().int().min(1).max(100_000).optional(),
  /** At most this many tasks of this type with the same concurrency key run at once. */
  keyConcurrency: z.number().int().min(1).max(100_000).optional(),
});

/** V8 limits of a worker thread; a thread past them crashes its own attempt only. */
export const resourceLimitsSchema = z.strictObject({
  maxOldGenerationSizeMb: z.number().positive().optional(),
  maxYoungGenerationSizeMb: z.number().positive().optional(),
  codeRangeSizeMb: z.number().positive().optional(),
  stackSizeMb: z.number().positive().optional(),
});

/** A worker-thread definition: a module and the name of its export, and its own thread limits if any. */
export const workerDefinitionSchema = definitionDefaultsSchema.extend({
  module: z.union([z.instanceof(URL), z.string().min(1)]),
  export: z.string().min(1).optional(),
  resourceLimits: resourceLimitsSchema.optional(),
}).strict();

/** An inline definition: a handler run on the main thread. */
export const inlineDefinitionSchema = definitionDefaultsSchema.extend({ handler: fnSchema() }).strict();

/** Worker-pool options. */
export const workersOptionsSchema = z.strictObject({
  minThreads: z.number().int().min(0).max(1_024).optional(),
  maxThreads: z.number().int().min(1).max(1_024).optional(),
  idleTimeoutMs: z.number().int().min(0).optional(),
  maxBatch: z.number().int().min(1).max(1_024).optional(),
  resourceLimits: resourceLimitsSchema.optional(),
});

/** A bucket's promise: never more than `limit` takes in any window of `intervalMs`. */
export const rateLimitSchema = z.strictObject({ limit: z.number().int().min(1).max(1_000_000), intervalMs: z.number().int().min(1) });

/** When reports are written, and where. */
export const reportsOptionsSchema = z.strictObject({ every: z.enum(['daily', 'weekly']), dir: z.string().min(1) });

/** How long ended tasks are kept before compaction forgets them. */
export const retentionSchema = z.strictObject({
  completedMs: z.number().int().min(0).optional(),
  failedMs: z.number().int().min(0).optional(),
});

/** What recovery does with interrupted attempts and a damaged journal. */
export const recoverySchema = z.strictObject({
  interruptionSpendsRetry: z.boolean().optional(),
  maxInterruptions: z.number().int().min(0).max(1_000).optional(),
  onCorruption: z.enum(['refuse', 'salvage']).optional(),
});

/** Turns a zod failure into one line that starts with the option path. */
export function describeZodError(prefix: string, error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.length > 0 ? `${prefix}.${issue.path.join('.')}` : prefix;
      return `${path}: ${issue.message}`;
    })
    .join('; ');
}

const workflowIdSchema = z.string().min(1).max(200);

/** A workflow task (submission options without `dependsOn`, which the phases set). */
export const workflowTaskSchema = z.strictObject({
  id: workflowIdSchema,
  type: z.string().min(1),
  input: z.unknown().optional(),
  options: submitOptionsSchema.omit({ dependsOn: true }).optional(),
});

/** A workflow phase. */
export const workflowPhaseSchema = z.strictObject({
  id: workflowIdSchema,
  dependsOn: z.array(workflowIdSchema).max(1_000).optional(),
  tasks: z.array(workflowTaskSchema).max(10_000).optional(),
});

/** A workflow's name and metadata (the incremental form starts with these). */
export const workflowCreateSchema = z.strictObject({
  name: z.string().min(1).max(500),
  metadata: z.record(z.string(), z.unknown()).optional(),
  webhook: webhookSchema.optional(),
});

/** A whole workflow in one call. */
export const workflowSpecSchema = workflowCreateSchema.extend({
  phases: z.array(workflowPhaseSchema).min(1).max(1_000),
}).strict();
