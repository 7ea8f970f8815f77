import type { FastifyInstance } from 'fastify';
import { WorkflowNotFoundError, type Runtime, type WorkflowHandle } from '@steward/core';
import { phaseBody, workflowBody, workflowTaskBody } from './body-schemas.js';
import { fromZod } from './errors.js';

function workflowOrThrow(rt: Runtime, id: string): WorkflowHandle {
  const handle = rt.getWorkflow(id);
  if (handle === undefined) throw new WorkflowNotFoundError(id);
  return handle;
}

/** The workflow routes of the REST API: the one-call form and the incremental one. */
export function workflowRoutes(app: FastifyInstance, rt: Runtime): void {
  app.post('/api/workflows', async (request, reply) => {
    const parsed = workflowBody.safeParse(request.body);
    if (!parsed.success) throw fromZod('', parsed.error);
    const handle = 'phases' in parsed.data ? await rt.workflow(parsed.data) : await rt.createWorkflow(parsed.data);
    return reply.code(201).send(handle.getStatus());
  });

  app.get('/api/workflows', async () => ({ workflows: rt.listWorkflows() }));

  const status = async (request: { params: unknown }) => workflowOrThrow(rt, (request.params as { id: string }).id).getStatus();
  app.get('/api/workflows/:id', status);
  app.get('/api/workflows/:id/status', status);

  app.post('/api/workflows/:id/phases', async (request, reply) => {
    const handle = workflowOrThrow(rt, (request.params as { id: string }).id);
    const parsed = phaseBody.safeParse(request.body);
    if (!parsed.success) throw fromZod('', parsed.error);
    handle.addPhase(parsed.data);
    return reply.code(201).send(handle.getStatus());
  });

  app.post('/api/workflows/:id/tasks', async (request, reply) => {
    const handle = workflowOrThrow(rt, (request.params as { id: string }).id);
    const parsed = workflowTaskBody.safeParse(request.body);
    if (!parsed.success) throw fromZod('', parsed.error);
    const { phaseId, ...task } = parsed.data;
    handle.addTask(phaseId, task);
    return reply.code(201).send(handle.getStatus());
  });

  app.post('/api/workflows/:id/start', async (request) => {
    const handle = workflowOrThrow(rt, (request.params as { id: string }).id);
    await handle.start();
    return handle.getStatus();
  });

  app.delete('/api/workflows/:id', async (request) => workflowOrThrow(rt, (request.params as { id: string }).id).cancel('cancelled over HTTP'));

  app.get('/api/workflows/:id/tasks', async (request) => {
    const handle = workflowOrThrow(rt, (request.params as { id: string }).id);
    return { tasks: rt.list({ workflowId: handle.id, limit: 10_000 }) };
  });
}
