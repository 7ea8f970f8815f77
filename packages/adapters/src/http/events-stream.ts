import type { FastifyInstance } from 'fastify';
import type { Runtime, RuntimeEvent } from '@steward/core';
import { eventsQuery } from './body-schemas.js';
import { fromZod } from './errors.js';

/** Options of the event stream. */
export interface EventStreamOptions {
  /** Bytes a client may fall behind before it is dropped. @defaultValue 1 MiB */
  maxBufferBytes?: number;
  /** Comment line sent when nothing else was, so proxies keep the stream open. @defaultValue 15_000 */
  heartbeatMs?: number;
}

/**
 * `GET /api/events`: the runtime's events as Server-Sent Events. Each event's id is
 * the journal's sequence number at the time it was sent, so a client that comes
 * back with `Last-Event-ID` gets every journaled event after it (replayed from the
 * journal) and then the live ones, in order, with none twice. A client that falls
 * `maxBufferBytes` behind is sent a final `stream:dropped` event and closed, rather
 * than letting its backlog grow in the server's memory.
 */
export function eventStreamRoute(app: FastifyInstance, rt: Runtime, options: EventStreamOptions = {}): void {
  const maxBuffer = options.maxBufferBytes ?? 1024 * 1024;
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  app.get('/api/events', async (request, reply) => {
    const parsed = eventsQuery.safeParse(request.query);
    if (!parsed.success) throw fromZod('query', parsed.error);
    const { taskId, workflowId } = parsed.data;
    const header = request.headers['last-event-id'];
    const lastId = typeof header === 'string' && /^\d+$/.test(header) ? Number(header) : parsed.data.lastEventId;
    const wanted = (event: RuntimeEvent): boolean => {
      if (taskId !== undefined && event.taskId !== taskId) return false;
      if (workflowId !== undefined) {
        if ('workflowId' in event && event.workflowId !== undefined) return event.workflowId === workflowId;
        return event.taskId !== undefined && rt.get(event.taskId)?.workflowId === workflowId;
      }
      return true;
    };

    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    let open = true;
    const send = (id: number, event: { type: string }) => {
      if (!open) return;
      raw.write(`id: ${id}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
      if (raw.writableLength > maxBuffer) {
        // Too far behind: one last word, then the door.
        raw.write(`event: stream:dropped\ndata: ${JSON.stringify({ type: 'stream:dropped', reason: 'the client fell too far behind; reconnect with Last-Event-ID', at: Date.now() })}\n\n`);
        close();
      }
    };
    // Subscribed before the replay so nothing falls between the two; live events
    // wait in `pending` until the replay is done.
    const pending: Array<{ id: number; event: RuntimeEvent }> = [];
    let replaying = lastId !== undefined;
    // 'block': every event as it happens, so its id is the journal's sequence number at
    // the time; this stream has its own bound (maxBufferBytes) and costs a write per event.
    const subscription = rt.events({ policy: 'block' }).subscribe({
      next: (event) => {
        if (!wanted(event)) return;
        const item = { id: rt.journalSeq, event };
        if (replaying) pending.push(item);
        else send(item.id, item.event);
      },
      complete: () => close(),
    });
    const heartbeat = setInterval(() => open && raw.write(': keep-alive\n\n'), heartbeatMs);
    heartbeat.unref();
    function close() {
      if (!open) return;
      open = false;
      subscription.unsubscribe();
      clearInterval(heartbeat);
      raw.end();
    }
    raw.on('close', close);
    raw.write(`retry: 1000\n: connected at journal seq ${rt.journalSeq}\n\n`);
    if (lastId !== undefined) {
      const upTo = rt.journalSeq;
      for await (const { seq, event } of rt.replayEvents(lastId)) {
        if (!open || seq > upTo) break;
        if (wanted(event)) send(seq, event);
      }
      replaying = false;
      for (const item of pending.splice(0)) send(item.id, item.event);
    }
    return reply;
  });
}
