import type { FastifyInstance } from 'fastify';
import type { Runtime } from '@steward/core';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * `GET /metrics` in the Prometheus text format (prom-client, on a registry of its
 * own). Counters and the duration histogram follow the event stream; gauges are
 * read from `rt.metrics()` at scrape time.
 */
export function prometheusRoute(app: FastifyInstance, rt: Runtime): () => void {
  const registry = new Registry();
  const ended = new Counter({ name: 'steward_tasks_ended_total', help: 'Tasks that ended, by status and type', labelNames: ['status', 'type'], registers: [registry] });
  const submitted = new Counter({ name: 'steward_tasks_submitted_total', help: 'Tasks submitted, by type', labelNames: ['type'], registers: [registry] });
  const duration = new Histogram({
    name: 'steward_task_duration_seconds',
    help: 'Run time of the attempt that ended a task, by type and status',
    labelNames: ['type', 'status'],
    buckets: [0.005, 0.025, 0.1, 0.5, 1, 5, 15, 60, 300, 1800],
    registers: [registry],
  });
  const webhooks = new Counter({ name: 'steward_webhook_deliveries_total', help: 'Webhook delivery attempts, by result', labelNames: ['result'], registers: [registry] });
  const restarts = new Counter({ name: 'steward_supervisor_restarts_total', help: 'Crashed executions restarted, by supervisor', labelNames: ['supervisor'], registers: [registry] });
  const tasksNow = new Gauge({ name: 'steward_tasks', help: 'Tasks now, by status', labelNames: ['status'], registers: [registry] });
  const queue = new Gauge({ name: 'steward_queue_length', help: 'Queued tasks, by priority', labelNames: ['priority'], registers: [registry] });
  const lockWaits = new Gauge({ name: 'steward_lock_waits_total', help: 'Tasks that waited for a lock', registers: [registry] });
  const lockWaitSeconds = new Gauge({ name: 'steward_lock_wait_seconds_total', help: 'Time spent waiting for locks', registers: [registry] });
  const rateWaits = new Gauge({ name: 'steward_ratelimit_waits_total', help: 'Times a start or ctx.rateLimit() waited for a token', registers: [registry] });
  const rss = new Gauge({ name: 'steward_process_resident_memory_megabytes', help: 'Resident memory of the runtime process', registers: [registry] });
  const cpu = new Gauge({ name: 'steward_process_cpu_percent', help: 'CPU used by the runtime process since the previous scrape', registers: [registry] });
  const throttled = new Gauge({ name: 'steward_resource_throttled', help: '1 while the resource guard throttles admission', registers: [registry] });
  const concurrency = new Gauge({ name: 'steward_effective_concurrency', help: 'Concurrency in force now', registers: [registry] });
  const keyRunning = new Gauge({ name: 'steward_key_running', help: 'Running tasks, by concurrency key', labelNames: ['key'], registers: [registry] });
  const keyQueued = new Gauge({ name: 'steward_key_queued', help: 'Queued tasks, by concurrency key', labelNames: ['key'], registers: [registry] });
  const bucketUsed = new Gauge({ name: 'steward_ratelimit_used_units', help: 'Units of a rate bucket the tasks held have used (ctx.rateLimit costs, trued up by ctx.reportUsage)', labelNames: ['bucket'], registers: [registry] });
  const bucketAvailable = new Gauge({ name: 'steward_ratelimit_available_units', help: 'Units of a rate bucket free now', labelNames: ['bucket'], registers: [registry] });

  const types = new Map<string, string>();
  // 'block': the counters must see every event; counting one is cheap.
  const subscription = rt.events({ policy: 'block' }).subscribe((event) => {
    switch (event.type) {
      case 'task:submitted':
        types.set(event.taskId, event.taskType);
        submitted.inc({ type: event.taskType });
        break;
      case 'task:completed':
      case 'task:failed':
      case 'task:cancelled':
      case 'task:timed_out': {
        const type = types.get(event.taskId) ?? rt.get(event.taskId)?.type ?? 'unknown';
        types.delete(event.taskId);
        const status = event.type.slice(5);
        ended.inc({ status, type });
        const snapshot = rt.get(event.taskId);
        if (snapshot?.durationMs !== undefined) duration.observe({ type, status }, snapshot.durationMs / 1000);
        break;
      }
      case 'webhook:delivered':
        webhooks.inc({ result: 'delivered' });
        break;
      case 'webhook:failed':
        webhooks.inc({ result: event.final ? 'given_up' : 'failed' });
        break;
      case 'supervisor:restarted':
        restarts.inc({ supervisor: event.supervisor });
        break;
    }
  });

  app.get('/metrics', async (_request, reply) => {
    const m = rt.metrics();
    for (const [status, value] of Object.entries(m.tasks)) tasksNow.set({ status }, value);
    queue.reset();
    for (const [priority, value] of Object.entries(m.queueByPriority)) queue.set({ priority }, value);
    lockWaits.set(m.locks.waits);
    lockWaitSeconds.set(m.locks.waitMs / 1000);
    rateWaits.set(m.rateLimits.waits);
    rss.set(m.resources.rssMb);
    cpu.set(m.resources.processCpuPercent);
    throttled.set(m.resources.guard?.throttled === true ? 1 : 0);
    concurrency.set(rt.queueStatus({ limit: 0 }).effectiveConcurrency);
    for (const bucket of Object.keys(m.rateLimits.available)) {
      const figures = m.rateLimits[bucket];
      if (figures === undefined) continue;
      bucketUsed.set({ bucket }, figures.used);
      bucketAvailable.set({ bucket }, figures.available);
    }
    keyRunning.reset();
    keyQueued.reset();
    for (const [key, { running, queued }] of Object.entries(m.keys)) {
      keyRunning.set({ key }, running);
      keyQueued.set({ key }, queued);
    }
    return reply.type(registry.contentType).send(await registry.metrics());
  });
  return () => subscription.unsubscribe();
}
