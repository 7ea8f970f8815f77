import { ScheduleNotFoundError, TaskNotFoundError, WorkflowNotFoundError, type Runtime, type ScheduleInfo, type ScheduleSpec, type SubmitOptions, type TaskOutcome, type TaskSnapshot, type WorkflowStatus } from '@steward/core';
import type { Client } from '../client/client.js';
import { signalTask } from '../client/signals.js';
import { scheduleCalls } from '../client/schedules.js';

/** What the MCP tools need: an embedded runtime or a running server behind the same calls. */
export interface StewardBackend {
  readonly mode: 'embedded' | 'server';
  submit(type: string, input: unknown, options: SubmitOptions | undefined): Promise<TaskSnapshot>;
  status(taskId: string): Promise<TaskSnapshot>;
  list(query: { status?: string[]; type?: string; workflowId?: string; limit?: number }): Promise<TaskSnapshot[]>;
  cancel(taskId: string, reason?: string): Promise<{ cancelled: boolean; status: string }>;
  signal(taskId: string, name: string, payload: unknown): Promise<{ delivered: true; taskStatus: string }>;
  logs(taskId: string): Promise<Array<{ stream: string; data: string; at: number }>>;
  workflowCreate(spec: { name: string; metadata?: Record<string, unknown> }): Promise<WorkflowStatus>;
  workflowAddPhase(workflowId: string, phase: { id: string; dependsOn?: string[]; tasks?: Array<{ id: string; type: string; input?: unknown; options?: Record<string, unknown> }> }): Promise<WorkflowStatus>;
  workflowAddTask(workflowId: string, phaseId: string, task: { id: string; type: string; input?: unknown; options?: Record<string, unknown> }): Promise<WorkflowStatus>;
  workflowStart(workflowId: string): Promise<WorkflowStatus>;
  workflowStatus(workflowId: string): Promise<WorkflowStatus>;
  scheduleCreate(scheduleId: string, spec: ScheduleSpec): Promise<ScheduleInfo>;
  scheduleList(): Promise<ScheduleInfo[]>;
  scheduleDelete(scheduleId: string): Promise<{ id: string; removed: boolean }>;
  close(): Promise<void>;
}

/** The tools run against a runtime in this process. */
export function embeddedBackend(rt: Runtime): StewardBackend {
  const snapshot = (id: string): TaskSnapshot => {
    const task = rt.get(id);
    if (task === undefined) throw new TaskNotFoundError(id);
    return task;
  };
  const workflow = (id: string) => {
    const handle = rt.getWorkflow(id);
    if (handle === undefined) throw new WorkflowNotFoundError(id);
    return handle;
  };
  return {
    mode: 'embedded',
    async submit(type, input, options) {
      return snapshot((await rt.submit(type, input, options)).id);
    },
    async status(taskId) {
      return snapshot(taskId);
    },
    async list(query) {
      return rt.list({ ...(query.status === undefined ? {} : { status: query.status as TaskSnapshot['status'][] }), ...(query.type === undefined ? {} : { type: query.type }), ...(query.workflowId === undefined ? {} : { workflowId: query.workflowId }), limit: query.limit ?? 50 });
    },
    cancel: (taskId, reason) => rt.cancel(taskId, reason),
    signal: (taskId, name, payload) => rt.signal(taskId, name, payload),
    async logs(taskId) {
      snapshot(taskId);
      const chunks = [];
      for await (const chunk of rt.output(taskId)) chunks.push(chunk);
      return chunks;
    },
    async workflowCreate(spec) {
      return (await rt.createWorkflow(spec)).getStatus();
    },
    async workflowAddPhase(workflowId, phase) {
      return workflow(workflowId).addPhase(phase).getStatus();
    },
    async workflowAddTask(workflowId, phaseId, task) {
      return workflow(workflowId).addTask(phaseId, task).getStatus();
    },
    async workflowStart(workflowId) {
      return (await workflow(workflowId).start()).getStatus();
    },
    async workflowStatus(workflowId) {
      return workflow(workflowId).getStatus();
    },
    scheduleCreate: (scheduleId, spec) => rt.schedule(scheduleId, spec),
    scheduleList: async () => rt.schedules(),
    async scheduleDelete(scheduleId) {
      if (!(await rt.unschedule(scheduleId))) throw new ScheduleNotFoundError(scheduleId);
      return { id: scheduleId, removed: true };
    },
    close: () => rt.shutdown({ timeoutMs: 5_000 }),
  };
}

/** The tools run against a server found in the data directory, over its REST API. */
export function serverBackend(client: Client): StewardBackend {
  const id = (value: string) => encodeURIComponent(value);
  const schedules = scheduleCalls(client);
  return {
    mode: 'server',
    submit: (type, input, options) => client.request('POST', '/api/tasks', { type, input, ...(options === undefined ? {} : { options }) }),
    status: (taskId) => client.request('GET', `/api/tasks/${id(taskId)}`),
    async list(query) {
      const params = new URLSearchParams();
      if (query.status !== undefined) params.set('status', query.status.join(','));
      if (query.type !== undefined) params.set('type', query.type);
      if (query.workflowId !== undefined) params.set('workflowId', query.workflowId);
      params.set('limit', String(query.limit ?? 50));
      return (await client.request<{ tasks: TaskSnapshot[] }>('GET', `/api/tasks?${params}`)).tasks;
    },
    // The reason travels as the route's `reason` query parameter, so the task records it.
    cancel: (taskId, reason) => client.request('DELETE', `/api/tasks/${id(taskId)}${reason === undefined ? '' : `?${new URLSearchParams({ reason })}`}`),
    signal: (taskId, name, payload) => signalTask(client, taskId, name, payload),
    async logs(taskId) {
      return (await client.request<{ chunks: Array<{ stream: string; data: string; at: number }> }>('GET', `/api/tasks/${id(taskId)}/logs`)).chunks;
    },
    workflowCreate: (spec) => client.request('POST', '/api/workflows', spec),
    workflowAddPhase: (workflowId, phase) => client.request('POST', `/api/workflows/${id(workflowId)}/phases`, phase),
    workflowAddTask: (workflowId, phaseId, task) => client.request('POST', `/api/workflows/${id(workflowId)}/tasks`, { phaseId, ...task }),
    workflowStart: (workflowId) => client.request('POST', `/api/workflows/${id(workflowId)}/start`),
    workflowStatus: (workflowId) => client.request('GET', `/api/workflows/${id(workflowId)}/status`),
    scheduleCreate: (scheduleId, spec) => schedules.put(scheduleId, spec),
    scheduleList: () => schedules.list(),
    scheduleDelete: (scheduleId) => schedules.remove(scheduleId),
    async close() {},
  };
}

/** Waits up to `waitMs` for a task to end, polling; the outcome or the snapshot as it is. */
export async function awaitTask(backend: StewardBackend, taskId: string, waitMs: number): Promise<TaskSnapshot> {
  const deadline = Date.now() + waitMs;
  let task = await backend.status(taskId);
  while (!['completed', 'failed', 'cancelled', 'timed_out'].includes(task.status) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(250, Math.max(10, deadline - Date.now()))));
    task = await backend.status(taskId);
  }
  return task;
}

export type { TaskOutcome };
