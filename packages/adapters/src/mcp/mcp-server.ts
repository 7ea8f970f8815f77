import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { scheduleIdSchema, scheduleSpecSchema, submitOptionsSchema, workflowCreateSchema, workflowPhaseSchema, workflowTaskSchema, type ScheduleSpec } from '@steward/core';
import { z } from 'zod';
import { awaitTask, type StewardBackend } from './backend.js';

type ToolResult = { content: Array<{ type: 'text'; text: string }>; structuredContent?: Record<string, unknown>; isError?: boolean };

function ok(value: unknown): ToolResult {
  return { content: [{ type: 'text', text: JSON.stringify(value, null, 2) }], structuredContent: (Array.isArray(value) ? { items: value } : value) as Record<string, unknown> };
}

/** A StewardError (or an HTTP error answer) as an MCP tool error that carries its code. */
function failure(error: unknown): ToolResult {
  const e = error as { code?: unknown; message?: unknown };
  const code = typeof e?.code === 'string' ? e.code : 'STEWARD_INTERNAL';
  const message = typeof e?.message === 'string' ? e.message : String(error);
  return { isError: true, content: [{ type: 'text', text: `${code}: ${message}` }], structuredContent: { code, message } };
}

function tool<A>(fn: (args: A) => Promise<unknown>): (args: A) => Promise<ToolResult> {
  return async (args) => {
    try {
      return ok(await fn(args));
    } catch (error) {
      return failure(error);
    }
  };
}

/**
 * The MCP server: API.md's tools over a Steward backend (embedded or a running
 * server). Input schemas are the library's own zod schemas, so a tool refuses what
 * `rt.submit` or `rt.workflow` would, with the same StewardError code.
 */
export function createMcpServer(backend: StewardBackend, version = '0.1.0'): McpServer {
  const server = new McpServer({ name: 'steward', version });
  // Arguments the schemas refuse are answered by the SDK before a tool runs; they get
  // the library's code too, so a client sees STEWARD_INVALID_OPTIONS either way.
  (server as unknown as { createToolError: (message: string) => ToolResult }).createToolError = (message: string) => {
    const text = message.replace(/^MCP error -?\d+: /, '');
    return failure({ code: text.startsWith('Input validation error') ? 'STEWARD_INVALID_OPTIONS' : 'STEWARD_INTERNAL', message: text });
  };
  const taskId = z.string().min(1).describe('id of the task');
  const workflowId = z.string().min(1).describe('id of the workflow');

  server.registerTool(
    'task_async',
    {
      description: 'Submit a background task of a defined type and return at once with its id. Check on it with task_status or task_result.',
      inputSchema: { type: z.string().min(1).describe('task type defined on the server'), input: z.unknown().optional().describe('the task input (JSON)'), options: submitOptionsSchema.optional() },
    },
    tool(async ({ type, input, options }: { type: string; input?: unknown; options?: z.infer<typeof submitOptionsSchema> }) => {
      const task = await backend.submit(type, input, options);
      return { taskId: task.id, status: task.status, type: task.type };
    }),
  );
  server.registerTool('task_status', { description: "A task's status, progress, attempts, result or error.", inputSchema: { taskId } }, tool(({ taskId: id }: { taskId: string }) => backend.status(id)));
  server.registerTool(
    'task_result',
    {
      description: 'Wait (up to waitMs, default 30 s) for a task to end and return its outcome; if it is still running, returns its status to poll again.',
      inputSchema: { taskId, waitMs: z.number().int().min(0).max(300_000).optional() },
    },
    tool(({ taskId: id, waitMs }: { taskId: string; waitMs?: number }) => awaitTask(backend, id, waitMs ?? 30_000)),
  );
  server.registerTool('task_cancel', { description: 'Cancel a task (queued or running).', inputSchema: { taskId, reason: z.string().max(500).optional() } }, tool(({ taskId: id, reason }: { taskId: string; reason?: string }) => backend.cancel(id, reason)));
  server.registerTool(
    'task_signal',
    {
      description: "Send a signal to a task's durable wait (ctx.waitForSignal): an approval, a review, an answer. A signal sent before the task waits is kept for it.",
      inputSchema: { taskId, name: z.string().min(1).max(100).describe('name of the signal the task waits for'), payload: z.unknown().optional().describe('what the wait returns (JSON)') },
    },
    tool(({ taskId: id, name, payload }: { taskId: string; name: string; payload?: unknown }) => backend.signal(id, name, payload)),
  );
  server.registerTool(
    'list_tasks',
    {
      description: 'List tasks, newest first.',
      inputSchema: {
        status: z.array(z.enum(['waiting', 'queued', 'running', 'retrying', 'completed', 'failed', 'cancelled', 'timed_out'])).optional(),
        type: z.string().optional(),
        workflowId: z.string().optional(),
        limit: z.number().int().min(1).max(500).optional(),
      },
    },
    tool(async (query: { status?: string[]; type?: string; workflowId?: string; limit?: number }) => ({ tasks: await backend.list(query) })),
  );
  server.registerTool(
    'task_logs',
    { description: "A task's captured output (stdout, stderr and ctx.log lines), the last `tail` lines.", inputSchema: { taskId, tail: z.number().int().min(1).max(10_000).optional() } },
    tool(async ({ taskId: id, tail }: { taskId: string; tail?: number }) => {
      const chunks = await backend.logs(id);
      const kept = chunks.slice(-(tail ?? 200));
      return { taskId: id, lines: kept.map((c) => `${c.stream}: ${c.data}`) };
    }),
  );
  server.registerTool(
    'workflow_create',
    { description: 'Create a workflow (not started): then add phases and tasks, then workflow_start.', inputSchema: workflowCreateSchema.shape },
    tool((spec: z.infer<typeof workflowCreateSchema>) => backend.workflowCreate(spec)),
  );
  server.registerTool(
    'workflow_add_phase',
    { description: 'Add a phase to a workflow; dependsOn names phases added before it. Tasks of a phase run in parallel.', inputSchema: { workflowId, ...workflowPhaseSchema.shape } },
    tool(({ workflowId: id, ...phase }: { workflowId: string } & z.infer<typeof workflowPhaseSchema>) => backend.workflowAddPhase(id, phase)),
  );
  server.registerTool(
    'workflow_add_task',
    { description: 'Add a task to a phase of a workflow.', inputSchema: { workflowId, phaseId: z.string().min(1), ...workflowTaskSchema.shape } },
    tool(({ workflowId: id, phaseId, ...task }: { workflowId: string; phaseId: string } & z.infer<typeof workflowTaskSchema>) =>
      backend.workflowAddTask(id, phaseId, task as { id: string; type: string; input?: unknown; options?: Record<string, unknown> }),
    ),
  );
  server.registerTool('workflow_start', { description: 'Start a workflow: its phases run as their dependencies complete.', inputSchema: { workflowId } }, tool(({ workflowId: id }: { workflowId: string }) => backend.workflowStart(id)));
  server.registerTool('workflow_status', { description: "A workflow's status, progress and per-phase counts.", inputSchema: { workflowId } }, tool(({ workflowId: id }: { workflowId: string }) => backend.workflowStatus(id)));
  const scheduleId = scheduleIdSchema.describe('id of the schedule');
  server.registerTool(
    'schedule_create',
    {
      description:
        'Create or replace a schedule that submits a task on a clock: exactly one of cron (5 fields, or 6 with seconds; read in timezone, default UTC) and every (ms). ' +
        "overlap 'skip' (default) lets a firing go while the last one's task runs; catchUp 'none' | 'latest' (default) | 'all' says what runs of firings missed while the server was down.",
      inputSchema: { scheduleId, ...scheduleSpecSchema.shape },
    },
    tool(({ scheduleId: id, ...spec }: { scheduleId: string } & ScheduleSpec) => backend.scheduleCreate(id, spec)),
  );
  server.registerTool('schedule_list', { description: 'Every schedule with its next and last firing (epoch ms) and whether it is paused.', inputSchema: {} }, tool(async () => ({ schedules: await backend.scheduleList() })));
  server.registerTool('schedule_delete', { description: 'Remove a schedule (the tasks it submitted stay).', inputSchema: { scheduleId } }, tool(({ scheduleId: id }: { scheduleId: string }) => backend.scheduleDelete(id)));
  return server;
}
