import assert from 'node:assert/strict';
import { get, type IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import { createRuntime } from '@steward/core';
import { createHttpHost, type HttpHost } from '../src/index.js';

const TOKEN = 'test-token-0123456789abcdef';

interface SseEvent {
  id?: number;
  event?: string;
  data?: any;
}

/** Opens the event stream and parses what arrives. */
function openStream(host: HttpHost, query = '', lastEventId?: number): Promise<{ events: SseEvent[]; response: IncomingMessage; next(n: number): Promise<void>; close(): void; ended: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { authorization: `Bearer ${TOKEN}`, ...(lastEventId === undefined ? {} : { 'last-event-id': String(lastEventId) }) };
    const request = get(new URL(`/api/events${query}`, host.url), { headers }, (response) => {
      const events: SseEvent[] = [];
      const waiters: Array<{ n: number; resolve: () => void }> = [];
      let buffer = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        buffer += chunk;
        let end = buffer.indexOf('\n\n');
        while (end !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event: SseEvent = {};
          for (const line of block.split('\n')) {
            if (line.startsWith('id: ')) event.id = Number(line.slice(4));
            else if (line.startsWith('event: ')) event.event = line.slice(7);
            else if (line.startsWith('data: ')) event.data = JSON.parse(line.slice(6));
          }
          if (event.event !== undefined) events.push(event);
          for (const w of waiters.filter((w) => events.length >= w.n)) {
            waiters.splice(waiters.indexOf(w), 1);
            w.resolve();
          }
          end = buffer.indexOf('\n\n');
        }
      });
      const ended = new Promise<void>((r) => response.on('end', () => r()));
      resolve({
        events,
        response,
        ended,
        next: (n) => (events.length >= n ? Promise.resolve() : new Promise((r) => waiters.push({ n, resolve: r }))),
        close: () => request.destroy(),
      });
    });
    request.on('error', reject);
  });
}

describe('the event stream', () => {
  it('sends events with journal ids and resumes after a dropped connection without a gap', async () => {
    const rt = await createRuntime({});
    rt.define('echo', { handler: (i) => i });
    const host = await createHttpHost(rt, { token: TOKEN, port: 0 });
    try {
      const first = await openStream(host);
      const a = await rt.submit('echo', 'a');
      await a.result();
      await first.next(4); // submitted, queued, started, completed
      const lastId = first.events.at(-1)?.id as number;
      assert.ok(lastId > 0);
      assert.deepEqual(first.events.map((e) => e.event), ['task:submitted', 'task:queued', 'task:started', 'task:completed']);
      first.close();
      // While the client is away:
      const b = await rt.submit('echo', 'b');
      await b.result();
      const second = await openStream(host, '', lastId);
      await second.next(4);
      assert.deepEqual(second.events.map((e) => [e.event, e.data.taskId]), [
        ['task:submitted', b.id],
        ['task:queued', b.id],
        ['task:started', b.id],
        ['task:completed', b.id],
      ]);
      assert.ok(second.events.every((e) => (e.id as number) > lastId));
      // And live after the replay:
      const c = await rt.submit('echo', 'c');
      await c.result();
      await second.next(8);
      assert.equal(second.events.at(-1)?.data.taskId, c.id);
      second.close();
    } finally {
      await host.close();
      await rt.shutdown();
    }
  });

  it('filters by task', async () => {
    const rt = await createRuntime({});
    rt.define('echo', { handler: (i) => i });
    const host = await createHttpHost(rt, { token: TOKEN, port: 0 });
    try {
      const a = await rt.submit('echo', 'a');
      const stream = await openStream(host, `?taskId=${a.id}`, 0);
      await rt.run('echo', 'other');
      await a.result();
      await stream.next(4);
      assert.ok(stream.events.every((e) => e.data.taskId === a.id));
      stream.close();
    } finally {
      await host.close();
      await rt.shutdown();
    }
  });

  it('drops a client that falls too far behind, with a final event, instead of buffering without bound', async () => {
    const rt = await createRuntime({});
    rt.define('chatty', { handler: (_i, ctx) => { for (let n = 0; n < 2_000; n++) ctx.log('x'.repeat(500)); } });
    const host = await createHttpHost(rt, { token: TOKEN, port: 0, events: { maxBufferBytes: 64 * 1024 } });
    try {
      const stream = await openStream(host);
      stream.response.pause(); // a client that stops reading
      await rt.run('chatty');
      stream.response.resume();
      await stream.ended;
      assert.equal(stream.events.at(-1)?.event, 'stream:dropped');
      assert.ok(stream.events.length < 2_000);
    } finally {
      await host.close();
      await rt.shutdown();
    }
  });

  it('wants the token, also in the query for browsers', async () => {
    const rt = await createRuntime({});
    const host = await createHttpHost(rt, { token: TOKEN, port: 0 });
    try {
      const status = await new Promise<number>((resolve) => get(new URL('/api/events', host.url), (res) => { res.resume(); resolve(res.statusCode ?? 0); }));
      assert.equal(status, 401);
      const withQuery = await new Promise<IncomingMessage>((resolve) => get(new URL(`/api/events?access_token=${TOKEN}`, host.url), resolve));
      assert.equal(withQuery.statusCode, 200);
      withQuery.destroy();
    } finally {
      await host.close();
      await rt.shutdown();
    }
  });
});
