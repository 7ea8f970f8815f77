import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createRuntime, type Runtime } from '@steward/core';
import { clusterConformance, transportConformance } from '@steward/core/transport';
import { bullmqTransport, redisUrl } from '../src/index.js';
import { redisMissing, startRedis, type RedisServer } from './redis-server.js';

// Cluster mode on a real redis-server started by this file (appendonly yes), through
// BullMQ. Each test has its own key prefix, so they share the server and not their data.

const missing = redisMissing();
let redis: RedisServer | undefined;
if (missing === undefined) {
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await redis?.close();
  });
}

function transport(prefix: string, nodeId: string, stalledIntervalMs = 1_000) {
  return bullmqTransport({ connection: { host: '127.0.0.1', port: (redis as RedisServer).port }, prefix, nodeId, stalledIntervalMs });
}

/**
 * Runs `body` with one runtime per name, all nodes of a fresh cluster (each defined by
 * `define`, in order), and shuts every one down after, however `body` ends.
 */
async function withNodes(names: string[], concurrency: number, define: (rt: Runtime, name: string) => void, body: (nodes: Runtime[]) => Promise<void>): Promise<void> {
  const prefix = `t-${randomUUID()}`;
  const nodes: Runtime[] = [];
  try {
    for (const name of names) {
      const rt = await createRuntime({ concurrency, transport: transport(prefix, name) });
      define(rt, name);
      nodes.push(rt);
    }
    await body(nodes);
  } finally {
    await Promise.all(nodes.map((rt) => rt.shutdown({ timeoutMs: 0 })));
  }
}

if (missing === undefined) {
  const factory = {
    open: async () => {
      const prefix = `t-${randomUUID()}`;
      let nodes = 0;
      return { options: () => ({ transport: transport(prefix, `node-${++nodes}`) }), close: async () => undefined };
    },
  };
  transportConformance('bullmqTransport on a real redis-server', factory);
  clusterConformance('bullmqTransport on a real redis-server', factory);
}


/** Resolves once `check` holds (a node's view catches up with what another stored); fails after 5 s. */
async function eventually(check: () => boolean, what: string): Promise<void> {
  for (const since = Date.now(); !check(); await new Promise((resolve) => setTimeout(resolve, 10))) {
    if (Date.now() - since > 5_000) throw new Error(`never ${what}`);
  }
}

describe('redisUrl', () => {
  it('reads host, port, user, password, database and TLS from a redis:// or rediss:// URL', () => {
    assert.deepEqual(redisUrl('redis://127.0.0.1'), { host: '127.0.0.1', port: 6379 });
    assert.deepEqual(redisUrl('redis://app:p%40ss@cache.local:6380/2'), { host: 'cache.local', port: 6380, username: 'app', password: 'p@ss', db: 2 });
    assert.deepEqual(redisUrl('rediss://[::1]:7000'), { host: '::1', port: 7000, tls: {} });
  });

  it('refuses anything else with STEWARD_INVALID_OPTIONS', () => {
    for (const bad of ['127.0.0.1:6379', 'http://127.0.0.1:6379', 'redis://127.0.0.1/x', 'redis://127.0.0.1/-1']) {
      assert.throws(() => redisUrl(bad), { code: 'STEWARD_INVALID_OPTIONS' }, bad);
      assert.throws(() => bullmqTransport({ connection: bad }), { code: 'STEWARD_INVALID_OPTIONS' }, bad);
    }
  });
});

describe('bullmqTransport', { skip: missing }, () => {
  it('refuses bad options with STEWARD_INVALID_OPTIONS', () => {
    assert.throws(() => bullmqTransport(null as never), { code: 'STEWARD_INVALID_OPTIONS' });
    assert.throws(() => bullmqTransport({ connection: { port: 1 }, stalledIntervalMs: 5 }), { code: 'STEWARD_INVALID_OPTIONS' });
    assert.throws(() => bullmqTransport({ connection: { port: 1 }, prefix: '' }), { code: 'STEWARD_INVALID_OPTIONS' });
  });

  it('three nodes: a task submitted on one runs on one that defines its type, and all three see it end', async () => {
    const ranOn: string[] = [];
    const define = (rt: Runtime, name: string) => {
      if (name !== 'a') rt.define('where', { handler: () => void ranOn.push(name) });
    };
    await withNodes(['a', 'b', 'c'], 4, define, async (nodes) => {
      const [a, , c] = nodes as [Runtime, Runtime, Runtime];
      const completedOnC = new Set<string>();
      c.events$.subscribe((event) => {
        if (event.type === 'task:completed') completedOnC.add(event.taskId);
      });
      const handles = await Promise.all(Array.from({ length: 40 }, () => a.submit('where')));
      const outcomes = await Promise.all(handles.map((h) => h.result()));
      assert.ok(outcomes.every((o) => o.status === 'completed'));
      assert.equal(ranOn.length, 40);
      assert.ok(ranOn.every((name) => name === 'b' || name === 'c'), 'node a does not define the type');
      for (const h of handles) assert.equal((await c.task(h.id)?.result())?.status, 'completed');
      await new Promise<void>((resolve) => {
        const check = () => completedOnC.size === 40 && resolve();
        c.events$.subscribe(check);
        check();
      });
    });
  });

  it('rt.retry from a node that does not run the type queues a failed task again, and a node runs it with the steps it had stored', async () => {
    const prefix = `t-${randomUUID()}`;
    let tries = 0;
    const stepRuns: string[] = [];
    const nodes: Runtime[] = [];
    try {
      const worker = await createRuntime({ concurrency: 2, transport: transport(prefix, 'worker') });
      nodes.push(worker);
      worker.define('flaky', {
        retries: { attempts: 0 },
        handler: async (_input, ctx) => {
          const fetched = await ctx.step('fetch', () => {
            stepRuns.push('fetch');
            return 'data';
          });
          if (++tries === 1) throw new Error('the first try fails after its step');
          return fetched;
        },
      });
      const front = await createRuntime({ transport: transport(prefix, 'front') });
      nodes.push(front);
      const first = await front.submit('flaky');
      assert.equal((await first.result()).status, 'failed');
      const again = await (await front.retry(first.id)).result();
      assert.equal(again.status, 'completed');
      assert.equal(again.result, 'data');
      assert.equal(again.attempts, 2);
      assert.deepEqual(stepRuns, ['fetch'], 'the stored step is not run again');
    } finally {
      await Promise.all(nodes.map((rt) => rt.shutdown({ timeoutMs: 0 })));
    }
  });

  it('dependsOn across nodes: a task defined on one node runs once its dependency, run on another, has completed', async () => {
    const ran: string[] = [];
    const define = (rt: Runtime, name: string) => {
      if (name === 'w1') rt.define('fetch', { handler: () => ran.push('fetch') });
      // ctx.dependencies: the results of the five, run on the other node.
      if (name === 'w2') rt.define('report', { handler: (_input, ctx) => (ran.push('report'), Object.values(ctx.dependencies).sort()) });
    };
    await withNodes(['front', 'w1', 'w2'], 2, define, async (nodes) => {
      const [front] = nodes as [Runtime];
      const fetches = await Promise.all(Array.from({ length: 5 }, () => front.submit('fetch')));
      const report = await front.submit('report', null, { dependsOn: fetches.map((h) => h.id) });
      const outcome = await report.result();
      assert.equal(outcome.status, 'completed');
      assert.equal(ran.length, 6);
      assert.equal(ran.at(-1), 'report', 'it ran after all five of its dependencies');
      assert.deepEqual(outcome.result, [1, 2, 3, 4, 5], 'ctx.dependencies held their results');
    });
  });

  it('durable waits across nodes: parked on one node, signalled from another, woken after its sleep, a kept signal taken at once', async () => {
    const prefix = `t-${randomUUID()}`;
    const drafted: string[] = [];
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const nodes: Runtime[] = [];
    try {
      const worker = await createRuntime({ concurrency: 2, transport: transport(prefix, 'worker') });
      nodes.push(worker);
      worker.define('review', {
        handler: async (_input, ctx) => {
          const draft = await ctx.step('draft', () => {
            drafted.push(ctx.taskId);
            return 'draft';
          });
          const decision = await ctx.waitForSignal<{ approved: boolean }>('approval');
          await ctx.sleep('cool-down', 20);
          return { draft, approved: decision.approved };
        },
      });
      worker.define('late', {
        handler: async (_input, ctx) => {
          await gate;
          return ctx.waitForSignal<string>('go');
        },
      });
      const front = await createRuntime({ transport: transport(prefix, 'front') });
      nodes.push(front);
      const status = (id: string, wanted: (t: ReturnType<Runtime['get']>) => boolean) =>
        new Promise<void>((resolve) => {
          const check = () => wanted(front.get(id)) && resolve();
          front.events$.subscribe(check);
          check();
        });
      const review = await front.submit('review');
      await status(review.id, (t) => t?.waitingFor?.name === 'approval');
      await front.signal(review.id, 'approval', { approved: true });
      const outcome = await review.result();
      assert.equal(outcome.status, 'completed');
      assert.deepEqual(outcome.result, { draft: 'draft', approved: true });
      assert.deepEqual(drafted, [review.id], 'the step ran once over three runs');
      // A signal sent while the task runs is kept; the wait takes it as soon as it parks.
      const late = await front.submit('late');
      await status(late.id, (t) => t?.status === 'running');
      await front.signal(late.id, 'go', 'now');
      open();
      assert.equal((await late.result()).result, 'now');
    } finally {
      open();
      await Promise.all(nodes.map((rt) => rt.shutdown({ timeoutMs: 0 })));
    }
  });

  it("a type's concurrency holds across nodes (BullMQ's global concurrency)", async () => {
    let running = 0;
    let most = 0;
    const define = (rt: Runtime) =>
      rt.define('scarce', {
        concurrency: 1,
        handler: async () => {
          most = Math.max(most, ++running);
          // Long enough for the other nodes to claim one too, were the limit per node.
          await new Promise((resolve) => setTimeout(resolve, 20));
          running--;
        },
      });
    await withNodes(['a', 'b', 'c'], 4, define, async (nodes) => {
      const handles = await Promise.all(Array.from({ length: 12 }, () => nodes[0]!.submit('scarce')));
      for (const handle of handles) assert.equal((await handle.result()).status, 'completed');
      assert.equal(most, 1, 'three nodes with room for four each, and one at a time over the cluster');
    });
  });

  it('refuses an input Redis cannot store with STEWARD_NOT_SERIALIZABLE, and takes the submissions of the same turn', async () => {
    await withNodes(['a'], 2, (rt) => rt.define('t', { handler: (input: { n: unknown }) => input.n }), async ([a]) => {
      const [bad, good] = await Promise.allSettled([a!.submit('t', { n: 10n }), a!.submit('t', { n: 1 })]);
      assert.equal(bad.status, 'rejected');
      assert.equal((bad as PromiseRejectedResult).reason.code, 'STEWARD_NOT_SERIALIZABLE');
      assert.equal(good.status, 'fulfilled');
      assert.equal((await (good as PromiseFulfilledResult<Awaited<ReturnType<Runtime['submit']>>>).value.result()).result, 1);
    });
  });

  it('a schedule set on one node is listed on every node, fires, and is removed from any node', async () => {
    await withNodes(['a', 'b'], 2, (rt) => rt.define('tick', { handler: () => 1 }), async ([a, b]) => {
      await b!.schedule('often', { every: 1_000, type: 'tick' });
      assert.deepEqual(b!.schedules().map((s) => s.id), ['often'], 'the node that set it lists it at once');
      // Another node lists it once it has read the shared journal that far.
      await eventually(() => a!.schedules().length === 1, 'listed on the other node');
      await new Promise<void>((resolve) => {
        const subscription = a!.events$.subscribe(() => {
          if (a!.list({ type: 'tick', status: 'completed' }).length < 2) return;
          queueMicrotask(() => subscription.unsubscribe());
          resolve();
        });
      });
      assert.equal(await b!.unschedule('often'), true);
      assert.deepEqual(b!.schedules(), []);
      await eventually(() => a!.schedules().length === 0, 'removed on the other node');
    });
  });

  it('a cancel sent from one node stops the task on the node that runs it', { timeout: 60_000 }, async () => {
    const prefix = `t-${randomUUID()}`;
    let stopped!: () => void;
    const abortedOnB = new Promise<void>((resolve) => (stopped = resolve));
    const a = await createRuntime({ concurrency: 2, transport: transport(prefix, 'a') });
    const b = await createRuntime({ concurrency: 2, transport: transport(prefix, 'b') });
    try {
      b.define('long', {
        handler: (_input, ctx) =>
          new Promise((resolve) =>
            ctx.signal.addEventListener('abort', () => {
              stopped();
              resolve(null);
            }),
          ),
      });
      const handle = await a.submit('long');
      await new Promise<void>((resolve) => {
        const check = () => a.get(handle.id)?.status === 'running' && resolve();
        a.events$.subscribe(check);
        check();
      });
      assert.equal((await a.cancel(handle.id, 'enough')).cancelled, true);
      assert.equal((await handle.result()).status, 'cancelled');
      // Stopped there, for real: the handler on b saw its signal fire (else this never settles).
      await abortedOnB;
      assert.equal(b.get(handle.id)?.status, 'cancelled');
    } finally {
      await Promise.all([a.shutdown({ timeoutMs: 0 }), b.shutdown({ timeoutMs: 0 })]);
    }
  });

  it('rejects a submission with STEWARD_TRANSPORT_UNAVAILABLE while Redis is down, and works again once it is back', async () => {
    const server = await startRedis();
    const rt = await createRuntime({ concurrency: 2, transport: bullmqTransport({ connection: { host: '127.0.0.1', port: server.port }, prefix: 'down', nodeId: 'solo', stalledIntervalMs: 1_000 }) });
    try {
      rt.define('t', { handler: () => 'ok' });
      assert.equal((await (await rt.submit('t')).result()).status, 'completed');
      await server.stop();
      await assert.rejects(() => rt.submit('t'), { code: 'STEWARD_TRANSPORT_UNAVAILABLE' });
      await server.restart();
      // The node reconnects by itself: a submission soon goes through again.
      let handle;
      for (let i = 0; i < 200 && handle === undefined; i++) {
        handle = await rt.submit('t').catch(async () => {
          await new Promise((resolve) => setTimeout(resolve, 50));
          return undefined;
        });
      }
      assert.ok(handle, 'a submission went through after Redis came back');
      assert.equal((await handle.result()).status, 'completed');
    } finally {
      await rt.shutdown({ timeoutMs: 0 });
      await server.close();
    }
  });
});
