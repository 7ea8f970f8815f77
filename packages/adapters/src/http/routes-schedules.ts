import type { FastifyInstance } from 'fastify';
import { ScheduleNotFoundError, type Runtime } from '@steward/core';
import { scheduleBody, scheduleIdParam } from './body-schemas.js';
import { fromZod } from './errors.js';

/** The id in the path, checked as a schedule id. */
function idOf(request: { params: unknown }): string {
  const parsed = scheduleIdParam.safeParse((request.params as { id: unknown }).id);
  if (!parsed.success) throw fromZod('id', parsed.error);
  return parsed.data;
}

/**
 * The schedule routes of the REST API: list (what the dashboard reads), create or
 * replace by id, remove, pause and resume. A bad body is a 400 with the field's path
 * (`cron`, `timezone`, `options.priority`), an unknown id a 404.
 */
export function scheduleRoutes(app: FastifyInstance, rt: Runtime): void {
  app.get('/api/schedules', async () => ({ schedules: rt.schedules() }));

  app.put('/api/schedules/:id', async (request, reply) => {
    const id = idOf(request);
    const parsed = scheduleBody.safeParse(request.body);
    if (!parsed.success) throw fromZod('', parsed.error);
    const existed = rt.schedules().some((s) => s.id === id);
    const info = await rt.schedule(id, parsed.data);
    return reply.code(existed ? 200 : 201).send(info);
  });

  app.delete('/api/schedules/:id', async (request) => {
    const id = idOf(request);
    if (!(await rt.unschedule(id))) throw new ScheduleNotFoundError(id);
    return { id, removed: true };
  });

  app.post('/api/schedules/:id/pause', async (request) => rt.pauseSchedule(idOf(request)));
  app.post('/api/schedules/:id/resume', async (request) => rt.resumeSchedule(idOf(request)));
}
