import type { FastifyInstance } from 'fastify';
import { parseEventId, type FeedEvent, type Runtime, type RuntimeEvent } from '@steward/core';
import { eventsQuery } from './body-schemas.js';
import { fromZod, HttpError } from './errors.js';

/** Options of the event stream. */
export interface EventStreamOptions {
  /** Bytes a client may fall behind before it is dropped. @defaultValue 1 MiB */
  maxBufferBytes?: number;
  /** Comment line sent when nothing else was, so proxies keep the stream open. @defaultValue 15_000 */
  heartbeatMs?: number;
}

/**
 * `GET /api/events`: the runtime's events as Server-Sent Events, with the ids of
 * `rt.eventFeed$`: `S.n` for the n-th event journal record S stands for, `S-j` for an
 * event the journal does not hold (progress, output, waits). A client that comes back
 * with `Last-Event-ID` (or `?lastEventId=`) gets every journaled event after that id,
 * replayed from the journal equal to what it would have got live, and then the live
 * ones, in order, with none twice; after an `S-j` id it goes on with record S+1. A
 * bare sequence number `S` resumes after every event of record S. A client that falls
 * `maxBufferBytes` behind is sent a final `stream:dropped` event and closed, rather
 * than letting its backlog grow in the server's memory.
 */
export function eventStreamRoute(app: FastifyInstance, rt: Runtime, options: EventStreamOptions = {}): void {
  const maxBuffer = options.maxBufferBytes ?? 1024 * 1024;
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  app.get('/api/events', async (request, reply) => {
    // The resume point has a syntax of its own (see above); the rest of the query goes through the schema.
    const { lastEventId: queryLastId, ...query } = (request.query ?? {}) as Record<string, unknown>;
    const parsed = eventsQuery.safeParse(query);
    if (!parsed.success) throw fromZod('query', parsed.error);
    const { taskId, workflowId } = parsed.data;
    const header = request.headers['last-event-id'];
    let resumeFrom: string | undefined;
    if (typeof header === 'string' && parseEventId(header) !== undefined) resumeFrom = header.trim();
    else if (queryLastId !== undefined) {
      if (typeof queryLastId !== 'string' || parseEventId(queryLastId) === undefined) {
        throw new HttpError('STEWARD_INVALID_OPTIONS', 'query.lastEventId: an event id such as 12, 12.1 or 12-0', 'query.lastEventId');
      }
      resumeFrom = queryLastId.trim();
    }
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
    const send = (item: FeedEvent) => {
      if (!open) return;
      raw.write(`id: ${item.id}\nevent: ${item.event.type}\ndata: ${JSON.stringify(item.event)}\n\n`);
      if (raw.writableLength > maxBuffer) {
        // Too far behind: one last word, then the door.
        raw.write(`event: stream:dropped\ndata: ${JSON.stringify({ type: 'stream:dropped', reason: 'the client fell too far behind; reconnect with Last-Event-ID', at: Date.now() })}\n\n`);
        close();
      }
    };
    // Subscribed before the replay so nothing falls between the two; live events
    // wait in `pending` until the replay is done.
    const pending: FeedEvent[] = [];
    let replaying = resumeFrom !== undefined;
    const subscription = rt.eventFeed$.subscribe({
      next: (item) => {
        if (!wanted(item.event)) return;
        if (replaying) pending.push(item);
        else send(item);
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
    if (resumeFrom !== undefined) {
      // Records up to here are replayed; what comes after them arrives live (in `pending`).
      const upTo = rt.journalSeq;
      for await (const item of rt.replayFeed(resumeFrom)) {
        if (!open || item.seq > upTo) break;
        if (wanted(item.event)) send(item);
      }
      replaying = false;
      for (const item of pending.splice(0)) send(item);
    }
    return reply;
  });
}
