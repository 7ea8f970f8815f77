import { scheduleIdSchema, scheduleSpecSchema, submitOptionsSchema, workflowCreateSchema, workflowPhaseSchema, workflowSpecSchema, workflowTaskSchema } from '@steward/core';
import { z } from 'zod';

// The library's own schemas, composed into request bodies: the same rules hold
// over HTTP as in process.

/** A task of a defined type. */
export const typedTaskBody = z.strictObject({
  type: z.string().min(1),
  input: z.unknown().optional(),
  options: submitOptionsSchema.optional(),
});

/** A command to run (only when the server has an allow list). */
export const commandTaskBody = z.strictObject({
  command: z.string().min(1),
  args: z.array(z.string()).max(10_000).optional(),
  cwd: z.string().min(1).optional(),
  options: submitOptionsSchema.optional(),
});

/** Query of `GET /api/tasks`. */
export const listQuery = z.strictObject({
  status: z.string().optional(),
  type: z.string().optional(),
  workflowId: z.string().optional(),
  limit: z.coerce.number().int().min(0).max(10_000).optional(),
  offset: z.coerce.number().int().min(0).optional(),
});

/** `POST /api/workflows`: a whole spec (started at once) or just a name (built step by step). */
export const workflowBody = z.union([workflowSpecSchema, workflowCreateSchema]);

/** `POST /api/workflows/:id/phases`. */
export const phaseBody = workflowPhaseSchema;

/** `POST /api/workflows/:id/tasks`: a task and the phase it goes in. */
export const workflowTaskBody = workflowTaskSchema.extend({ phaseId: z.string().min(1) }).strict();

/** `PUT /api/schedules/:id`: the schedule's spec, as `rt.schedule(id, spec)` takes it. */
export const scheduleBody = scheduleSpecSchema;

/** The `:id` of the schedule routes. */
export const scheduleIdParam = scheduleIdSchema;

/** Query of the event stream. */
export const eventsQuery = z.strictObject({
  taskId: z.string().optional(),
  workflowId: z.string().optional(),
  lastEventId: z.coerce.number().int().min(0).optional(),
  access_token: z.string().optional(),
});

/** Query of the logs route. */
export const logsQuery = z.strictObject({ follow: z.enum(['0', '1', 'true', 'false']).optional() });

/** Query of `DELETE /api/tasks/:id`: why it was cancelled, recorded with the task. */
export const cancelQuery = z.strictObject({ reason: z.string().min(1).max(500).optional() });

/** Query of the report route. */
export const reportQuery = z.strictObject({ sinceMs: z.coerce.number().int().min(1).optional() });
