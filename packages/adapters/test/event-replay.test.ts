// A client that reconnects to the event stream with Last-Event-ID gets what it missed
// exactly as a client that stayed connected got it: the same events, the same payloads,
// the same ids, for tasks (retried, failed, cancelled, with dependents) and workflows.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { get, type ClientRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createRuntime, type Runtime } from '@steward/core';
import { ManualClock } from '@steward/core/testing';
import { createHttpHost, type HttpHost } from '../src/index.js';

const TOKEN = 'test-token-0123456789abcdef';

interface SseEvent {
  id: string;
  event: string;
  data: any;
}

/** The event stream as a list that grows; `until` waits for an event that matches. */
function openStream(host: HttpHost, lastEventId?: string): Promise<{ events: SseEvent[]; until(match: (e: SseEvent) => boolean): Promise<SseEvent>; close(): void }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { authorization: `Bearer ${TOKEN}`, ...(lastEventId === undefined ? {} : { 'last-event-id': lastEventId }) };
    const request: ClientRequest = get(new URL('/api/events', host.url), { headers }, (response) => {
      const events: SseEvent[] = [];
      const waiters: Array<{ match: (e: SseEvent) => boolean; resolve: (e: SseEvent) => void }> = [];
      let buffer = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        buffer += chunk;
        let end = buffer.indexOf('\n\n');
        while (end !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event: Partial<SseEvent> = {};
          for (const line of block.split('\n')) {
            if (line.startsWith('id: ')) event.id = line.slice(4);
            else if (line.startsWith('event: ')) event.event = line.slice(7);
            else if (line.startsWith('data: ')) event.data = JSON.parse(line.slice(6));
          }
          if (event.event !== undefined) {
            events.push(event as SseEvent);
            for (const w of [...waiters]) {
              if (w.match(event as SseEvent)) {
                waiters.splice(waiters.indexOf(w), 1);
                w.resolve(event as SseEvent);
              }
            }
          }
          end = buffer.indexOf('\n\n');
        }
      });
      resolve({
        events,
        until: (match) => {
          const found = events.find(match);
          return found !== undefined ? Promise.resolve(found) : new Promise((r) => waiters.push({ match, resolve: r }));
        },
        close: () => request.destroy(),
      });
    });
    request.on('error', reject);
  });
}

/** Resolves with the first event of `type` on the runtime (for steering the clock). */
function nextEvent(rt: Runtime, type: string): Promise<void> {
  return new Promise((resolve) => {
    const off = rt.on(type as 'task:retrying', () => {
      off();
      resolve();
    });
  });
}

/** Orders ids as the stream promises: by record, then by the event's place after it. */
function idKey(id: string): [number, number, number] {
  const match = /^(\d+)(?:([.-])(\d+))?$/.exec(id);
  assert.ok(match !== null, `"${id}" is an id of the stream`);
  return [Number(match[1]), match[2] === '-' ? 1 : 0, Number(match[3] ?? -1)];
}
function before(a: string, b: string): boolean {
  const [x, y] = [idKey(a), idKey(b)];
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return (x[i] as number) < (y[i] as number);
  return false;
}

describe('replayed events', () => {
  for (const where of ['memory', 'LevelDB'] as const) {
  it(`equal the live ones, for tasks and a workflow, with ids unique and in order (${where})`, async () => {
    const clock = new ManualClock();
    const dataDir = where === 'LevelDB' ? mkdtempSync(join(tmpdir(), 'steward-replay-')) : undefined;
    const rt = await createRuntime({ clock, ...(dataDir === undefined ? {} : { dataDir }) });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let tries = 0;
    rt.define('echo', { handler: (input) => input });
    rt.define('slow', {
      handler: async (_input, ctx) => {
        ctx.progress(50, 'half way');
        await gate;
        return 'slow done';
      },
    });
    rt.define('flaky', {
      retries: { attempts: 1, backoff: 'fixed', delayMs: 100, jitter: false },
      handler: () => {
        tries++;
        if (tries === 1) throw new Error('the first try fails');
        return 'second try';
      },
    });
    rt.define('held', { handler: (_input, ctx) => new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('stopped')))) });
    rt.define('broken', { handler: () => { throw new Error('always'); } });
    const host = await createHttpHost(rt, { token: TOKEN, port: 0 });
    try {
      const live = await openStream(host);
      // A task that takes 250 ms of the clock, with progress (not journaled) on the way.
      const halfWay = nextEvent(rt, 'task:progress');
      const slow = await rt.submit('slow');
      await halfWay;
      clock.advance(250);
      release();
      await slow.result();
      // A retry.
      const retrying = nextEvent(rt, 'task:retrying');
      const flaky = await rt.submit('flaky');
      await retrying;
      clock.advance(100);
      await flaky.result();
      // A failure that fails its dependent, and a cancel.
      const broken = await rt.submit('broken');
      const dependent = await rt.submit('echo', 'never', { dependsOn: [broken.id] });
      await dependent.result().catch(() => undefined);
      const blocked = await rt.submit('echo', 'held', { dependsOn: [slow.id, flaky.id, dependent.id] });
      await blocked.result().catch(() => undefined);
      const held = await rt.submit('held');
      const cancelled = await rt.submit('echo', 'later', { dependsOn: [held.id] });
      assert.equal((await rt.cancel(cancelled.id, 'changed my mind')).cancelled, true);
      assert.equal((await rt.cancel(held.id, 'no need now')).cancelled, true);
      // A workflow of two phases.
      const wf = await rt.workflow({
        name: 'two phases',
        phases: [
          { id: 'first', tasks: [{ id: 'a', type: 'echo', input: 1 }, { id: 'b', type: 'echo', input: 2 }] },
          { id: 'second', dependsOn: ['first'], tasks: [{ id: 'c', type: 'echo', input: 3 }] },
        ],
      });
      await wf.result();
      await live.until((e) => e.event === 'workflow:completed');
      const marker = await rt.submit('echo', 'the end');
      await marker.result();
      const isEnd = (e: SseEvent) => e.event === 'task:completed' && e.data.taskId === marker.id;
      await live.until(isEnd);
      live.close();

      const journaled = live.events.filter((e) => !['task:progress', 'task:output'].includes(e.event));
      for (const type of ['task:retrying', 'task:failed', 'task:cancelled', 'workflow:phase-started', 'workflow:phase-completed', 'workflow:completed']) {
        assert.ok(journaled.some((e) => e.event === type), `the run had a ${type}`);
      }
      assert.equal(live.events.find((e) => e.event === 'task:completed' && e.data.taskId === slow.id)?.data.durationMs, 250);
      // Ids: unique and in order, on the live stream.
      const ids = live.events.map((e) => e.id);
      assert.equal(new Set(ids).size, ids.length, 'no two events share an id');
      for (let i = 1; i < ids.length; i++) assert.ok(before(ids[i - 1] as string, ids[i] as string), `${ids[i - 1]} comes before ${ids[i]}`);

      // From the start of the journal: the very same list.
      const replay = await openStream(host, '0');
      await replay.until(isEnd);
      replay.close();
      assert.deepEqual(replay.events, journaled);
    } finally {
      await host.close();
      release();
      await rt.shutdown({ timeoutMs: 0 });
      if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
    }
  });
  }

  it('gives a client that dropped between two events of one record the second, and skips what is not journaled cleanly', async () => {
    const rt = await createRuntime({});
    rt.define('chatty', {
      handler: (_input, ctx) => {
        ctx.progress(10, 'starting');
        ctx.log('a line');
        return 'done';
      },
    });
    const host = await createHttpHost(rt, { token: TOKEN, port: 0 });
    try {
      const live = await openStream(host);
      const task = await rt.submit('chatty');
      await task.result();
      await live.until((e) => e.event === 'task:completed');
      live.close();
      const types = live.events.map((e) => e.event);
      assert.deepEqual(types, ['task:submitted', 'task:queued', 'task:started', 'task:progress', 'task:output', 'task:completed']);
      // After each event, a resume yields exactly the rest.
      for (let i = 0; i < live.events.length - 1; i++) {
        const resumed = await openStream(host, live.events[i]?.id);
        const rest = live.events.slice(i + 1).filter((e) => !['task:progress', 'task:output'].includes(e.event));
        await resumed.until((e) => e.event === 'task:completed');
        resumed.close();
        assert.deepEqual(resumed.events, rest, `resumed after ${live.events[i]?.event} (${live.events[i]?.id})`);
      }
    } finally {
      await host.close();
      await rt.shutdown();
    }
  });
});
