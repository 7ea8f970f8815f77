import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { createRuntime, type CreateRuntimeOptions } from '../api/create-runtime.js';
import type { Runtime } from '../api/runtime.js';
import { StewardError } from '../model/errors.js';

/** A fresh store for one test: the options of a node that uses it, and how to let it go. */
export interface TransportUnderTest {
  /** Options for a runtime on this store (every runtime made with them shares it). */
  options(): CreateRuntimeOptions;
  close(): Promise<void>;
}

/** How a transport is set up for the suite. */
export interface TransportConformanceFactory {
  open(): Promise<TransportUnderTest>;
}

/** A promise and the function that settles it. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/**
 * The shared test suite every transport must pass (the local one, `bullmqTransport`,
 * and any a user writes), through the public API of one runtime on it: results through
 * handles, get and list; idempotency keys; priority order; cancel of a queued and of a
 * running task; the events of a task; durable steps across attempts; clear errors.
 */
export function transportConformance(name: string, factory: TransportConformanceFactory): void {
  describe(`${name} conforms to the transport contract`, () => {
    async function withNode(options: CreateRuntimeOptions, fn: (rt: Runtime) => Promise<void>): Promise<void> {
      const store = await factory.open();
      const rt = await createRuntime({ ...store.options(), ...options });
      try {
        await fn(rt);
      } finally {
        await rt.shutdown({ timeoutMs: 0 });
        await store.close();
      }
    }

    it('runs a submitted task; its handle, get and list give the result', () =>
      withNode({ concurrency: 2 }, async (rt) => {
        rt.define('double', { handler: (input: { n: number }) => input.n * 2 });
        const handle = await rt.submit('double', { n: 21 });
        const outcome = await handle.result();
        assert.equal(outcome.status, 'completed');
        assert.equal(outcome.result, 42);
        assert.equal(rt.get(handle.id)?.status, 'completed');
        assert.equal(rt.get(handle.id)?.result, 42);
        assert.ok(rt.list({ status: 'completed' }).some((task) => task.id === handle.id));
        assert.equal((await rt.task(handle.id)?.result())?.result, 42);
      }));

    it('answers a second submission with the same idempotency key with the same task', () =>
      withNode({ concurrency: 2 }, async (rt) => {
        let runs = 0;
        rt.define('once', { handler: () => ++runs });
        const first = await rt.submit('once', null, { idempotencyKey: 'order-7' });
        const second = await rt.submit('once', null, { idempotencyKey: 'order-7' });
        assert.equal(second.id, first.id);
        await first.result();
        const third = await rt.submit('once', null, { idempotencyKey: 'order-7' });
        assert.equal(third.id, first.id);
        assert.equal(runs, 1);
      }));

    it('starts waiting tasks by priority', () =>
      withNode({ concurrency: 1 }, async (rt) => {
        const release = gate();
        const started: string[] = [];
        rt.define('hold', { handler: () => release.promise });
        rt.define('mark', { handler: (input: string) => void started.push(input) });
        const hold = await rt.submit('hold');
        await until(rt, () => rt.get(hold.id)?.status === 'running');
        const low = await rt.submit('mark', 'low', { priority: 'low' });
        const high = await rt.submit('mark', 'high', { priority: 'high' });
        release.open();
        await Promise.all([hold.result(), low.result(), high.result()]);
        assert.deepEqual(started, ['high', 'low']);
      }));

    it('cancels a queued task, which then never runs', () =>
      withNode({ concurrency: 1 }, async (rt) => {
        const release = gate();
        let ran = false;
        rt.define('hold', { handler: () => release.promise });
        rt.define('never', { handler: () => void (ran = true) });
        const hold = await rt.submit('hold');
        await until(rt, () => rt.get(hold.id)?.status === 'running');
        const queued = await rt.submit('never');
        const answer = await rt.cancel(queued.id, 'not needed');
        assert.equal(answer.cancelled, true);
        release.open();
        await hold.result();
        const outcome = await queued.result();
        assert.equal(outcome.status, 'cancelled');
        assert.equal(ran, false);
        assert.equal(rt.get(queued.id)?.status, 'cancelled');
      }));

    it('cancels a running task and really stops it', () =>
      withNode({ concurrency: 1 }, async (rt) => {
        let aborted = false;
        rt.define('wait', {
          handler: (_input, ctx) =>
            new Promise((resolve) =>
              ctx.signal.addEventListener('abort', () => {
                aborted = true;
                resolve(null);
              }),
            ),
        });
        const handle = await rt.submit('wait');
        await until(rt, () => rt.get(handle.id)?.status === 'running');
        await rt.cancel(handle.id, 'stop now');
        const outcome = await handle.result();
        assert.equal(outcome.status, 'cancelled');
        assert.equal(aborted, true);
      }));

    it('tells the events of a task, in order, on events$', () =>
      withNode({ concurrency: 1 }, async (rt) => {
        rt.define('quick', { handler: () => 'done' });
        const seen: string[] = [];
        const subscription = rt.events$.subscribe((event) => {
          if (event.type.startsWith('task:')) seen.push(`${event.type} ${event.taskId ?? ''}`);
        });
        const handle = await rt.submit('quick');
        await handle.result();
        await until(rt, () => seen.includes(`task:completed ${handle.id}`));
        subscription.unsubscribe();
        const mine = seen.filter((line) => line.endsWith(handle.id)).map((line) => line.split(' ')[0]);
        assert.deepEqual(mine, ['task:submitted', 'task:queued', 'task:started', 'task:completed']);
      }));

    it('gives a later attempt the steps recorded before, without running them again', () =>
      withNode({ concurrency: 1 }, async (rt) => {
        let stepRuns = 0;
        rt.define('stepped', {
          retries: { attempts: 1, delayMs: 1 },
          handler: async (_input, ctx) => {
            const value = await ctx.step('one', () => ++stepRuns * 10);
            if (ctx.attempt === 1) throw Object.assign(new Error('once more'), { retryable: true });
            return value;
          },
        });
        const outcome = await (await rt.submit('stepped')).result();
        assert.equal(outcome.status, 'completed');
        assert.equal(outcome.result, 10);
        assert.equal(stepRuns, 1);
      }));

    it('answers an unknown task with STEWARD_TASK_NOT_FOUND and a bad submission with a StewardError', () =>
      withNode({ concurrency: 1 }, async (rt) => {
        rt.define('quick', { handler: () => 'done' });
        await assert.rejects(() => rt.cancel('no-such-task'), (error: unknown) => error instanceof StewardError && error.code === 'STEWARD_TASK_NOT_FOUND');
        assert.equal(rt.get('no-such-task'), undefined);
        await assert.rejects(() => rt.submit('quick', null, { priority: 'nope' }), (error: unknown) => error instanceof StewardError && error.code === 'STEWARD_INVALID_OPTIONS');
      }));
  });
}

/**
 * The suite every cluster transport must pass besides `transportConformance`: what
 * must hold across nodes, through the public API of several runtimes made with
 * `factory`'s options (each call of `options()` a node of the same cluster): locks,
 * per-key concurrency and rate buckets are the cluster's, not each node's.
 */
export function clusterConformance(name: string, factory: TransportConformanceFactory): void {
  describe(`${name} holds locks, keys and buckets for the whole cluster`, () => {
    /** Runs `body` with two nodes of a fresh cluster, made with `options` and defined by `define`; shuts them down after. */
    async function withNodes(options: CreateRuntimeOptions, define: (rt: Runtime, index: number) => void, body: (a: Runtime, b: Runtime) => Promise<void>): Promise<void> {
      const store = await factory.open();
      const nodes: Runtime[] = [];
      try {
        for (let i = 0; i < 2; i++) {
          const rt = await createRuntime({ ...store.options(), ...options });
          define(rt, i);
          nodes.push(rt);
        }
        await body(nodes[0] as Runtime, nodes[1] as Runtime);
      } finally {
        await Promise.all(nodes.map((rt) => rt.shutdown({ timeoutMs: 0 })));
        await store.close();
      }
    }

    /** A handler that counts how many of its kind run at once (`most`), each for a few ms. */
    function overlap(): { most: () => number; handler: () => Promise<void> } {
      let running = 0;
      let most = 0;
      return {
        most: () => most,
        handler: async () => {
          most = Math.max(most, ++running);
          // Long enough for the other node to start one too, were the limit per node.
          await new Promise((resolve) => setTimeout(resolve, 15));
          running--;
        },
      };
    }

    it('an exclusive lock: one holder at a time over every node; shared holders together', async () => {
      const writes = overlap();
      let readers = 0;
      const together = gate();
      await withNodes(
        { concurrency: 4 },
        (rt) => {
          rt.define('write', { locks: ['repo'], handler: writes.handler });
          rt.define('read', {
            locks: [{ name: 'docs', mode: 'shared' }],
            handler: async () => {
              if (++readers === 2) together.open();
              // Every reader waits until two hold the shared lock at once (or gives up after a while).
              return Promise.race([together.promise.then(() => true), new Promise((resolve) => setTimeout(() => resolve(false), 5_000))]);
            },
          });
        },
        async (a) => {
          const handles = await Promise.all(Array.from({ length: 8 }, () => a.submit('write')));
          for (const handle of handles) assert.equal((await handle.result()).status, 'completed');
          assert.equal(writes.most(), 1, 'two nodes with room for four each, and one holder of the lock at a time');
          const reads = await Promise.all([a.submit('read'), a.submit('read')]);
          for (const handle of reads) assert.equal((await handle.result()).result, true, 'two shared holders at once');
        },
      );
    });

    it('a task waiting for a lock another node holds gives up after its lockTimeoutMs', async () => {
      const release = gate();
      await withNodes(
        { concurrency: 2 },
        (rt, index) => {
          if (index === 0) rt.define('hold', { locks: ['deploy'], handler: () => release.promise });
          else rt.define('wait', { locks: ['deploy'], lockTimeoutMs: 200, handler: () => 'ran' });
        },
        async (a, b) => {
          try {
            const hold = await b.submit('hold');
            await until(b, () => b.get(hold.id)?.status === 'running');
            const outcome = await (await b.submit('wait')).result();
            assert.equal(outcome.status, 'failed');
            assert.equal(outcome.error?.code, 'STEWARD_LOCK_TIMEOUT');
            release.open();
            assert.equal((await hold.result()).status, 'completed');
            // Let go when it ended: the next one takes it at once.
            assert.equal((await (await a.submit('wait')).result()).result, 'ran');
          } finally {
            release.open();
          }
        },
      );
    });

    it("a type's keyConcurrency holds per key over every node", async () => {
      const perKey = new Map<string, ReturnType<typeof overlap>>([['t1', overlap()], ['t2', overlap()]]);
      await withNodes(
        { concurrency: 4 },
        (rt) => rt.define('tenant', { keyConcurrency: 1, handler: (key: string) => perKey.get(key)?.handler() }),
        async (a) => {
          const handles = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? 't1' : 't2')).map((key) => a.submit('tenant', key, { concurrencyKey: key })));
          for (const handle of handles) assert.equal((await handle.result()).status, 'completed');
          assert.deepEqual([perKey.get('t1')?.most(), perKey.get('t2')?.most()], [1, 1]);
        },
      );
    });

    it("rt.output on any node gives a task's output, whichever node runs it, and follows it to its end", async () => {
      const release = gate();
      await withNodes(
        { concurrency: 2, maxOutputBytes: 1_024 },
        (rt, index) => {
          if (index !== 1) return;
          rt.define('talk', {
            handler: async (_input, ctx) => {
              for (let i = 1; i <= 5; i++) ctx.log(`line ${i} ${'.'.repeat(300)}`);
              await release.promise;
              ctx.log('last');
              return 'done';
            },
          });
        },
        async (a) => {
          const handle = await a.submit('talk');
          const followed: string[] = [];
          const fifth = gate();
          const following = (async () => {
            for await (const chunk of a.output(handle.id, { follow: true })) {
              followed.push(chunk.data);
              if (chunk.data.startsWith('line 5 ')) fifth.open();
            }
          })();
          // A guard, not a measure: without output from the other node the test fails instead of waiting forever.
          const guard = new Promise((_, reject) => setTimeout(() => reject(new Error('the follower saw no output from the node that runs the task')), 10_000).unref());
          await Promise.race([fifth.promise, guard]);
          // Bounded by maxOutputBytes: the oldest lines went, the newest are kept.
          const kept: string[] = [];
          for await (const chunk of a.output(handle.id)) kept.push(chunk.data);
          assert.ok(kept.length >= 1 && kept.length < 5, `kept ${kept.length} of 5 lines of about 300 bytes in 1,024`);
          assert.equal(kept.at(-1), `line 5 ${'.'.repeat(300)}`);
          release.open();
          assert.equal((await handle.result()).result, 'done');
          await following;
          assert.equal(followed.at(-1), 'last', 'the follower saw the line written last, on the other node');
          assert.deepEqual(followed, [...new Set(followed)], 'no line twice');
        },
      );
    });

    it("a task's webhook is delivered once when it ends, wherever it ran, and also when it never ran", async () => {
      const received: Array<{ type: string; data: { taskId: string; status: string; result?: unknown } }> = [];
      const arrived = new Map<number, () => void>();
      const server = createServer((request, response) => {
        let body = '';
        request.on('data', (chunk: Buffer) => (body += chunk.toString()));
        request.on('end', () => {
          received.push(JSON.parse(body) as (typeof received)[number]);
          response.end();
          arrived.get(received.length)?.();
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
      // With a guard, not a measure: a delivery that never comes fails the test instead of hanging it.
      const delivered = (count: number) =>
        new Promise<void>((resolve, reject) => {
          if (received.length >= count) return resolve();
          arrived.set(count, resolve);
          setTimeout(() => reject(new Error(`${received.length} of ${count} webhooks delivered`)), 10_000).unref();
        });
      try {
        await withNodes(
          { concurrency: 2, webhooks: { allowPrivateNetworks: true } },
          (rt, index) => {
            if (index === 1) rt.define('work', { handler: () => 42 });
          },
          async (a) => {
            const ran = await a.submit('work', null, { webhook: { url, secret: 'whsec_dGVzdA==' } });
            assert.equal((await ran.result()).result, 42);
            await delivered(1);
            // A type no node runs: cancelled while it waits, it is delivered all the same.
            const queued = await a.submit('nowhere', null, { webhook: { url, secret: 'whsec_dGVzdA==' } });
            await a.cancel(queued.id);
            await delivered(2);
            assert.deepEqual(
              received.map((r) => [r.type, r.data.taskId, r.data.result]),
              [
                ['task.completed', ran.id, 42],
                ['task.cancelled', queued.id, undefined],
              ],
            );
          },
        );
        assert.equal(received.length, 2, 'each delivered once');
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
    });

    it('rt.retry at the moment a task has ended runs it again (its claim may not be let go yet)', async () => {
      let runs = 0;
      await withNodes(
        { concurrency: 2 },
        (rt, index) => {
          if (index === 1) rt.define('flaky', { retries: { attempts: 0 }, handler: () => (++runs === 1 ? Promise.reject(new Error('once')) : 'ok') });
        },
        async (a) => {
          const handle = await a.submit('flaky');
          assert.equal((await handle.result()).status, 'failed');
          // At once: the node that ran it may still hold its claim.
          await a.retry(handle.id);
          const guard = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the retried task never ran again')), 10_000).unref());
          const again = await Promise.race([(a.task(handle.id) as NonNullable<ReturnType<Runtime['task']>>).result(), guard]);
          assert.equal(again.result, 'ok');
        },
      );
    });

    it('a rate bucket counts the starts of every node', async () => {
      const starts: number[] = [];
      await withNodes(
        // One at a time per node: the tasks spread over both nodes.
        { concurrency: 1, rateLimits: { api: { limit: 1, intervalMs: 400 } } },
        (rt) => rt.define('call', { rateLimit: 'api', handler: () => void starts.push(Date.now()) }),
        async (a) => {
          const handles = await Promise.all(Array.from({ length: 3 }, () => a.submit('call')));
          for (const handle of handles) assert.equal((await handle.result()).status, 'completed');
          starts.sort((x, y) => x - y);
          // One start per 400 ms over the cluster (a little slack for the time between a start and its handler).
          for (let i = 1; i < starts.length; i++) assert.ok((starts[i] as number) - (starts[i - 1] as number) >= 350, `starts ${starts.join(', ')}`);
        },
      );
    });
  });
}

/** Resolves once `check` holds: now, or after one of the runtime's events. */
function until(rt: Runtime, check: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    let done = false;
    const finish = () => {
      if (done || !check()) return;
      done = true;
      queueMicrotask(() => subscription.unsubscribe());
      resolve();
    };
    const subscription = rt.events$.subscribe(finish);
    finish();
  });
}
