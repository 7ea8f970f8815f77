import type { FastifyInstance } from 'fastify';
import { isStewardError, TaskNotFoundError, type Runtime, type TaskStatus } from '@steward/core';
import type { ProcessExecutor } from '../process/process-executor.js';
import { cancelQuery, commandTaskBody, listQuery, logsQuery, reportQuery, typedTaskBody } from './body-schemas.js';
import { commandMetadata } from './dashboard/dashboard-view.js';
import { fromZod, HttpError } from './errors.js';

/** How the host runs commands sent over HTTP, if it does at all. */
export interface CommandTasks {
  /** The task type whose definition runs `input.command` with `input.args`. */
  readonly type: string;
  /** The process executor with the allow list that every command must pass. */
  readonly executor: ProcessExecutor;
}

const STATUSES = new Set<TaskStatus>(['waiting', 'queued', 'running', 'retrying', 'completed', 'failed', 'cancelled', 'timed_out']);

function snapshotOrThrow(rt: Runtime, id: string) {
  const snapshot = rt.get(id);
  if (snapshot === undefined) throw new TaskNotFoundError(id);
  return snapshot;
}

/** The task routes of the REST API. */
export function taskRoutes(app: FastifyInstance, rt: Runtime, commands: CommandTasks | undefined): void {
  app.post('/api/tasks', async (request, reply) => {
    const body = request.body as Record<string, unknown> | undefined;
    if (body !== null && typeof body === 'object' && 'command' in body) {
      if (commands === undefined || !commands.executor.restricted) {
        throw new HttpError('STEWARD_COMMAND_NOT_ALLOWED', 'this server runs no commands sent over HTTP; start it with an allow list (steward serve --allow ...)');
      }
      const parsed = commandTaskBody.safeParse(body);
      if (!parsed.success) throw fromZod('', parsed.error);
      const { command, args, cwd, options } = parsed.data;
      if (!commands.executor.allows(command, cwd)) throw new HttpError('STEWARD_COMMAND_NOT_ALLOWED', `command "${command}" is not in the allow list`, 'command');
      // The command line goes in the metadata too, where the dashboard and the snapshot show it.
      const submitOptions = { ...options, metadata: commandMetadata(command, args ?? [], options?.metadata) };
      const handle = await rt.submit(commands.type, { command, args: args ?? [], ...(cwd === undefined ? {} : { cwd }) }, submitOptions);
      return reply.code(201).send(rt.get(handle.id));
    }
    const parsed = typedTaskBody.safeParse(body);
    if (!parsed.success) throw fromZod('', parsed.error);
    if (parsed.data.type === commands?.type) throw new HttpError('STEWARD_COMMAND_NOT_ALLOWED', 'send { command, args } to run a command', 'type');
    let handle;
    try {
      handle = await rt.submit(parsed.data.type, parsed.data.input, parsed.data.options);
    } catch (error) {
      // The library's message names the type; over HTTP the field is named too.
      throw isStewardError(error, 'STEWARD_UNKNOWN_TASK_TYPE') ? new HttpError(error.code, error.message, 'type') : error;
    }
    return reply.code(201).send(rt.get(handle.id));
  });

  app.get('/api/tasks', async (request) => {
    const parsed = listQuery.safeParse(request.query);
    if (!parsed.success) throw fromZod('query', parsed.error);
    const statuses = parsed.data.status?.split(',').filter((s) => s !== '');
    for (const status of statuses ?? []) if (!STATUSES.has(status as TaskStatus)) throw new HttpError('STEWARD_INVALID_OPTIONS', `query.status: unknown status "${status}"`, 'query.status');
    return {
      tasks: rt.list({
        ...(statuses === undefined ? {} : { status: statuses as TaskStatus[] }),
        ...(parsed.data.type === undefined ? {} : { type: parsed.data.type }),
        ...(parsed.data.workflowId === undefined ? {} : { workflowId: parsed.data.workflowId }),
        limit: parsed.data.limit ?? 100,
        offset: parsed.data.offset ?? 0,
      }),
    };
  });

  app.get('/api/tasks/:id', async (request) => snapshotOrThrow(rt, (request.params as { id: string }).id));

  app.delete('/api/tasks/:id', async (request) => {
    const { id } = request.params as { id: string };
    snapshotOrThrow(rt, id);
    const parsed = cancelQuery.safeParse(request.query);
    if (!parsed.success) throw fromZod('query', parsed.error);
    return rt.cancel(id, parsed.data.reason ?? 'cancelled over HTTP');
  });

  // A signal to a task's durable wait; the body is the payload (any JSON, or none).
  app.post('/api/tasks/:id/signals/:name', async (request) => {
    const { id, name } = request.params as { id: string; name: string };
    snapshotOrThrow(rt, id);
    return rt.signal(id, name, request.body);
  });

  app.post('/api/tasks/:id/retry', async (request) => {
    const { id } = request.params as { id: string };
    snapshotOrThrow(rt, id);
    await rt.retry(id);
    return rt.get(id);
  });

  app.get('/api/tasks/:id/logs', async (request, reply) => {
    const { id } = request.params as { id: string };
    snapshotOrThrow(rt, id);
    const parsed = logsQuery.safeParse(request.query);
    if (!parsed.success) throw fromZod('query', parsed.error);
    const follow = parsed.data.follow === '1' || parsed.data.follow === 'true';
    if (!follow) {
      const chunks = [];
      for await (const chunk of rt.output(id)) chunks.push(chunk);
      return { taskId: id, chunks };
    }
    // Followed: one JSON chunk per line as it comes, until the task ends.
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
    let closed = false;
    raw.on('close', () => (closed = true));
    for await (const chunk of rt.output(id, { follow: true })) {
      if (closed) break;
      raw.write(`${JSON.stringify(chunk)}\n`);
    }
    if (!closed) raw.end(`${JSON.stringify({ end: true, status: rt.get(id)?.status })}\n`);
    return reply;
  });

  app.get('/api/report', async (request) => {
    const parsed = reportQuery.safeParse(request.query);
    if (!parsed.success) throw fromZod('query', parsed.error);
    const report = await rt.report({ sinceMs: parsed.data.sinceMs ?? 86_400_000 });
    return { ...report, markdown: report.toMarkdown() };
  });

  app.get('/api/queue', async () => rt.queueStatus({ limit: 200 }));
  app.get('/api/metrics', async () => rt.metrics());
  app.get('/api/supervision', async () => rt.supervision());

  app.get('/api/webhooks/:taskId/history', async (request) => {
    const { taskId } = request.params as { taskId: string };
    return { id: taskId, deliveries: rt.webhookHistory(taskId) };
  });
}
