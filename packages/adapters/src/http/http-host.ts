import Fastify, { type FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import { InvalidOptionsError, type Runtime } from '@steward/core';
import { sendError } from './errors.js';
import { eventStreamRoute, type EventStreamOptions } from './events-stream.js';
import { dashboardRoute } from './dashboard.js';
import { prometheusRoute } from './prometheus.js';
import { type CommandTasks, taskRoutes } from './routes-tasks.js';
import { workflowRoutes } from './routes-workflows.js';
import { scheduleRoutes } from './routes-schedules.js';
import { RequestGuard } from './security.js';

/** Options of the HTTP host. */
export interface HttpHostOptions {
  /** The bearer token every `/api` route needs. */
  token: string;
  /** @defaultValue '127.0.0.1' (loopback only) */
  host?: string;
  /** 0 picks a free port. @defaultValue 4780 */
  port?: number;
  /** Largest request body. @defaultValue 1 MiB */
  bodyLimitBytes?: number;
  /** Other `Host` names to answer to (a reverse proxy's), besides this server's own. */
  allowedHosts?: string[];
  /** Run commands sent over HTTP through this task type, checked against the executor's allow list. */
  commands?: CommandTasks;
  events?: EventStreamOptions;
  /** Extra routes (the dashboard page). */
  routes?: (app: FastifyInstance) => void;
}

/** A running HTTP host. */
export interface HttpHost {
  readonly url: string;
  readonly port: number;
  readonly app: FastifyInstance;
  close(): Promise<void>;
}

/**
 * Serves a runtime over HTTP with fastify: the REST API under `/api`, the event
 * stream, Prometheus metrics and `/health`. Binds to loopback unless told
 * otherwise, checks `Host` and `Origin` on every request, and wants the bearer
 * token on every `/api` route.
 */
export async function createHttpHost(rt: Runtime, options: HttpHostOptions): Promise<HttpHost> {
  if (options === null || typeof options !== 'object') throw new InvalidOptionsError('options must be an object');
  if (typeof options.token !== 'string' || options.token.length < 16) throw new InvalidOptionsError('options.token must be a string of at least 16 characters');
  const host = options.host ?? '127.0.0.1';
  const app = Fastify({ bodyLimit: options.bodyLimitBytes ?? 1024 * 1024, logger: false, return503OnClosing: true });
  const guard = new RequestGuard(options.token, options.allowedHosts ?? []);
  app.addHook('onRequest', async (request) => guard.check(request));
  // Bodies are JSON only: fastify would otherwise hand a text/plain body to the
  // routes as a string. Without its parser, any other type is answered 415.
  app.removeContentTypeParser('text/plain');
  app.setErrorHandler((error, _request, reply) => sendError(reply, error));
  app.setNotFoundHandler((request, reply) => reply.code(404).send({ error: { code: 'STEWARD_NOT_FOUND', message: `no route ${request.method} ${request.url.split('?')[0]}` } }));
  app.get('/health', async () => ({ status: 'ok', journalSeq: rt.journalSeq, ...rt.queueStatus({ limit: 0 }), items: undefined }));
  taskRoutes(app, rt, options.commands);
  workflowRoutes(app, rt);
  scheduleRoutes(app, rt);
  eventStreamRoute(app, rt, options.events);
  const stopMetrics = prometheusRoute(app, rt);
  dashboardRoute(app, rt, options.commands?.type);
  options.routes?.(app);
  await app.listen({ host, port: options.port ?? 4780 });
  const { port } = app.server.address() as AddressInfo;
  const names = host === '127.0.0.1' || host === 'localhost' || host === '::1' ? ['127.0.0.1', 'localhost', '[::1]'] : [host.includes(':') ? `[${host}]` : host];
  guard.allow(names.map((name) => `${name}:${port}`));
  const shown = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shown}:${port}`,
    port,
    app,
    async close() {
      stopMetrics();
      // Open event streams end with the server.
      app.server.closeAllConnections?.();
      await app.close();
    },
  };
}
