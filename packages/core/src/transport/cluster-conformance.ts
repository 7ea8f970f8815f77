import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { createRuntime, type CreateRuntimeOptions } from '../api/create-runtime.js';
import type { Runtime } from '../api/runtime.js';
import type { TaskContext } from '../model/task-context.js';
import { TaskFailure } from '../model/task-error.js';
import { gate, until, type TransportConformanceFactory } from './conformance.js';

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

    it("a task's or workflow's webhook is delivered once when it ends, wherever it ran, and also when it never ran", async () => {
      const received: Array<{ type: string; data: { taskId?: string; workflowId?: string; name?: string; status: string; result?: unknown; results?: unknown } }> = [];
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
            // A workflow started on the node that runs none of its types: every node sees it end.
            const flow = await a.workflow({ name: 'hooked', webhook: { url, secret: 'whsec_dGVzdA==' }, phases: [{ id: 'p', tasks: [{ id: 'w', type: 'work' }] }] });
            assert.equal((await flow.result()).status, 'completed');
            await delivered(3);
            assert.deepEqual(
              received.map((r) => [r.type, r.data.taskId ?? r.data.workflowId, r.data.result ?? r.data.results]),
              [
                ['task.completed', ran.id, 42],
                ['task.cancelled', queued.id, undefined],
                ['workflow.completed', flow.id, { w: 42 }],
              ],
            );
            assert.equal(received[2]?.data.name, 'hooked');
          },
        );
        assert.equal(received.length, 3, 'each delivered once');
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

    it('a workflow started on a node that runs none of its types runs its phases in order on the other, which follows it too', async () => {
      const endedOnB: string[] = [];
      await withNodes(
        { concurrency: 2 },
        (rt, index) => {
          if (index !== 1) return;
          rt.define('fetch', { handler: (n: number) => n * 2 });
          // The first phase's results, by workflow task id, as on one machine.
          rt.define('report', { handler: (_input, ctx) => (ctx.dependencies.a as number) + (ctx.dependencies.b as number) });
          rt.events$.subscribe((event) => {
            if (event.type === 'workflow:completed') endedOnB.push(event.workflowId);
          });
        },
        async (a, b) => {
          const handle = await a.workflow({
            name: 'sum',
            phases: [
              { id: 'get', tasks: [{ id: 'a', type: 'fetch', input: 1 }, { id: 'b', type: 'fetch', input: 2 }] },
              { id: 'add', dependsOn: ['get'], tasks: [{ id: 'total', type: 'report' }] },
            ],
          });
          const outcome = await handle.result();
          assert.equal(outcome.status, 'completed');
          assert.deepEqual(outcome.results, { a: 2, b: 4, total: 6 });
          const followed = b.getWorkflow(handle.id);
          assert.equal((await followed?.result())?.status, 'completed');
          assert.equal(followed?.getStatus().progress, 100);
          assert.deepEqual(endedOnB, [handle.id], 'the other node was told of the end once');
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

    it("a provider's retry-after pauses the cluster's bucket: a task on the other node starts only when the pause ends", async () => {
      let failedAt = 0;
      let startedAt = 0;
      await withNodes(
        // Room for 100 starts a second: only the pause can hold the second task back.
        { concurrency: 1, rateLimits: { api: { limit: 100, intervalMs: 1_000 } } },
        (rt, index) => {
          if (index === 0) {
            rt.define('first', {
              rateLimit: 'api',
              retries: { attempts: 0 },
              handler: () => {
                failedAt = Date.now();
                throw new TaskFailure('429', { retryAfterMs: 1_500 });
              },
            });
          } else {
            rt.define('second', { rateLimit: 'api', handler: () => void (startedAt = Date.now()) });
          }
        },
        async (a) => {
          const first = await (await a.submit('first')).result();
          assert.equal(first.status, 'failed');
          assert.equal(first.error?.retryAfterMs, 1_500);
          // Only the other node runs it: were the pause that node's own, it would start at once.
          const guard = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the task after the pause never ran')), 10_000).unref());
          const second = await Promise.race([(await a.submit('second')).result(), guard]);
          assert.equal(second.status, 'completed');
          // The pause ends 1.5 s after the failure (a little slack for the time between a failure and its record).
          assert.ok(startedAt - failedAt >= 1_350, `failed at ${failedAt}, the other node started at ${startedAt} (${startedAt - failedAt} ms later)`);
        },
      );
    });

    /**
     * Two tasks, one on each node (each node runs one at a time, and each handler waits
     * for the other to start), each asking for `cost` units of bucket `tokens`; `then`
     * runs after a handler's take. Resolves with the times of the two takes, sorted.
     */
    async function takesOnTwoNodes(cost: number, then: (ctx: TaskContext) => void): Promise<number[]> {
      const takes: number[] = [];
      const started = gate();
      let starts = 0;
      await withNodes(
        { concurrency: 1, rateLimits: { tokens: { limit: 10, intervalMs: 2_000 } } },
        (rt) =>
          rt.define('call', {
            handler: async (_input, ctx) => {
              if (++starts === 2) started.open();
              await started.promise;
              await ctx.rateLimit('tokens', { cost });
              takes.push(Date.now());
              then(ctx);
            },
          }),
        async (a) => {
          const handles = await Promise.all([a.submit('call'), a.submit('call')]);
          for (const handle of handles) assert.equal((await handle.result()).status, 'completed');
        },
      );
      return takes.sort((x, y) => x - y);
    }

    it("ctx.rateLimit takes units from the cluster's window: two handlers on two nodes do not both get 6 of 10", async () => {
      const takes = await takesOnTwoNodes(6, () => undefined);
      // The second take waits for the first to leave the 2 s window (were the bucket per node, both at once).
      assert.ok((takes[1] as number) - (takes[0] as number) >= 1_800, `takes at ${takes.join(', ')}`);
    });

    it("ctx.reportUsage gives unused units back to the cluster's window, and a handler on the other node takes them", async () => {
      // Each uses 1 of its 6: the first's report leaves room for the second at once, not after 2 s.
      const takes = await takesOnTwoNodes(6, (ctx) => ctx.reportUsage('tokens', 1));
      assert.ok((takes[1] as number) - (takes[0] as number) < 1_800, `takes at ${takes.join(', ')}`);
    });
  });
}
