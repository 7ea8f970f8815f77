import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRuntime } from '../src/api/create-runtime.js';
import type { Runtime } from '../src/api/runtime.js';
import { clusterTransport } from '../src/transport/cluster-transport.js';
import { MemoryCluster } from '../src/transport/memory-cluster.js';
import { ManualClock } from '../src/testing.js';

// Cluster mode across nodes, on the in-memory shared store (three runtimes in this
// process): what one node submits runs on a node that defines the type, and every
// node sees it. The same across processes on Redis: @steward/adapters and test/.

async function nodes(cluster: MemoryCluster, count: number, define: (rt: Runtime, index: number) => void): Promise<Runtime[]> {
  const made: Runtime[] = [];
  for (let i = 0; i < count; i++) {
    const rt = await createRuntime({ concurrency: 2, transport: clusterTransport(cluster.backend(`node-${i}`)) });
    define(rt, i);
    made.push(rt);
  }
  return made;
}

/** A node that runs nothing and one that runs what a test defines on it, and a gate its handlers can wait at. */
async function frontAndWorker(): Promise<{ front: Runtime; worker: Runtime; gate: Promise<void>; open: () => void }> {
  const cluster = new MemoryCluster();
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const front = await createRuntime({ transport: clusterTransport(cluster.backend('front')) });
  const worker = await createRuntime({ transport: clusterTransport(cluster.backend('worker')) });
  return { front, worker, gate, open };
}

describe('cluster mode on an in-memory store', () => {
  it('runs a task submitted on a node without its type on a node that has it; every node sees it end', async () => {
    const cluster = new MemoryCluster();
    const ranOn: string[] = [];
    const [a, b, c] = await nodes(cluster, 3, (rt, i) => {
      if (i === 1) rt.define('where', { handler: () => void ranOn.push('b') });
    });
    try {
      const completedOnC: string[] = [];
      c!.events({ policy: 'block' }).subscribe((event) => {
        if (event.type === 'task:completed') completedOnC.push(event.taskId);
      });
      const handles = await Promise.all(Array.from({ length: 5 }, () => a!.submit('where')));
      const outcomes = await Promise.all(handles.map((h) => h.result()));
      assert.ok(outcomes.every((o) => o.status === 'completed'));
      assert.deepEqual(ranOn, ['b', 'b', 'b', 'b', 'b']);
      for (const h of handles) {
        assert.equal(c!.get(h.id)?.status, 'completed');
        assert.equal((await c!.task(h.id)?.result())?.status, 'completed');
      }
      assert.deepEqual(completedOnC.sort(), handles.map((h) => h.id).sort());
      assert.equal(a!.list({ status: 'completed' }).length, 5);
    } finally {
      await Promise.all([a, b, c].map((rt) => rt!.shutdown({ timeoutMs: 0 })));
    }
  });

  it('a cancel sent from one node stops the task where it runs', async () => {
    const cluster = new MemoryCluster();
    let aborted = false;
    const [a, b] = await nodes(cluster, 2, (rt, i) => {
      if (i === 1) {
        rt.define('long', {
          handler: (_input, ctx) => new Promise((resolve) => ctx.signal.addEventListener('abort', () => resolve((aborted = true)))),
        });
      }
    });
    try {
      const handle = await a!.submit('long');
      await new Promise<void>((resolve) => {
        const check = () => a!.get(handle.id)?.status === 'running' && resolve();
        a!.events$.subscribe(check);
        check();
      });
      const answer = await a!.cancel(handle.id, 'enough');
      assert.equal(answer.cancelled, true);
      const outcome = await handle.result();
      assert.equal(outcome.status, 'cancelled');
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(aborted, true);
      assert.equal(b!.get(handle.id)?.status, 'cancelled');
    } finally {
      await Promise.all([a, b].map((rt) => rt!.shutdown({ timeoutMs: 0 })));
    }
  });

  it('says on every node which node ran a task, and counts what waits and runs in the whole cluster', async () => {
    const cluster = new MemoryCluster();
    const [a, b] = await nodes(cluster, 2, (rt, i) => {
      if (i === 1) rt.define('here', { handler: () => 1 });
    });
    try {
      const ran = await a!.submit('here');
      await ran.result();
      assert.equal(a!.get(ran.id)?.node, 'node-1');
      assert.equal(b!.node, 'node-1');
      // No node defines `nowhere`: its tasks wait in the cluster, and node 0 counts and lists them.
      const waiting = await Promise.all([b!.submit('nowhere', null, { priority: 'low' }), b!.submit('nowhere', null, { priority: 'high' })]);
      const status = a!.queueStatus();
      assert.equal(status.queued, 2);
      assert.deepEqual(status.items.map((item) => item.id), [waiting[1]!.id, waiting[0]!.id], 'best first');
    } finally {
      await Promise.all([a!.shutdown({ timeoutMs: 0 }), b!.shutdown({ timeoutMs: 0 })]);
    }
  });

  it('rt.retry on any node runs an ended task again, once even when two nodes retry it at once', async () => {
    const cluster = new MemoryCluster();
    let calls = 0;
    const all = await nodes(cluster, 3, (rt, i) => {
      if (i === 1) {
        rt.define('flaky', {
          retries: { attempts: 0 },
          handler: () => {
            calls++;
            if (calls === 1) throw new Error('the first try fails');
            return calls;
          },
        });
      }
    });
    const [a, , c] = all;
    try {
      const first = await a!.submit('flaky');
      assert.equal((await first.result()).status, 'failed');
      // Node 1 ran it and keeps its own copy of the failed task: the retry runs it there again.
      const [retried] = await Promise.all([a!.retry(first.id), c!.retry(first.id)]);
      const outcome = await retried.result();
      assert.equal(outcome.status, 'completed');
      assert.equal(outcome.result, 2);
      assert.equal(outcome.attempts, 2, 'the attempts go on from the cluster count');
      assert.equal(calls, 2, 'two retries at once run it once');
      assert.equal(c!.get(first.id)?.status, 'completed');
      await assert.rejects(() => a!.retry(first.id), { code: 'STEWARD_INVALID_STATE' });
    } finally {
      await Promise.all(all.map((rt) => rt.shutdown({ timeoutMs: 0 })));
    }
  });

  it('runs a task once its dependencies have completed, whichever node ran them, and fails it with a failed one', async () => {
    const cluster = new MemoryCluster();
    const order: string[] = [];
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const all = await nodes(cluster, 3, (rt, i) => {
      if (i === 1) rt.define('first', { handler: async () => { await gate; order.push('first'); return 1; } });
      if (i === 2) {
        rt.define('then', { handler: () => void order.push('then') });
        rt.define('broken', { retries: { attempts: 0 }, handler: () => { throw new Error('broken'); } });
      }
    });
    const [a, b] = all;
    try {
      const first = await a!.submit('first');
      const then = await a!.submit('then', null, { dependsOn: [first.id] });
      assert.equal(b!.get(then.id)?.status, 'waiting', 'every node sees it wait');
      open();
      assert.equal((await then.result()).status, 'completed');
      assert.deepEqual(order, ['first', 'then']);
      // Submitted after its dependency completed: it runs at once.
      assert.equal((await (await b!.submit('then', null, { dependsOn: [first.id] })).result()).status, 'completed');
      const broken = await a!.submit('broken');
      const blocked = await a!.submit('then', null, { dependsOn: [broken.id] });
      const outcome = await blocked.result();
      assert.equal(outcome.status, 'failed');
      assert.equal(outcome.error?.code, 'STEWARD_DEPENDENCY_FAILED');
      assert.equal(order.length, 3, 'the dependent of the failed task never ran');
    } finally {
      await Promise.all(all.map((rt) => rt.shutdown({ timeoutMs: 0 })));
    }
  });

  it('holds maxQueue for the whole cluster: what waits there counts, whichever node submitted it', async () => {
    const cluster = new MemoryCluster();
    const a = await createRuntime({ maxQueue: 3, transport: clusterTransport(cluster.backend('node-a')) });
    const b = await createRuntime({ transport: clusterTransport(cluster.backend('node-b')) });
    try {
      // No node defines `later`: its tasks wait in the cluster.
      await b.submit('later');
      const burst = await Promise.allSettled([a.submit('later'), a.submit('later'), a.submit('later')]);
      assert.deepEqual(burst.map((r) => r.status), ['fulfilled', 'fulfilled', 'rejected'], 'one from node b and two from this burst fill it');
      assert.equal((burst[2] as PromiseRejectedResult).reason.code, 'STEWARD_QUEUE_FULL');
      assert.equal(a.queueStatus().queued, 3, 'nothing refused was kept');
    } finally {
      await Promise.all([a.shutdown({ timeoutMs: 0 }), b.shutdown({ timeoutMs: 0 })]);
    }
  });

  it('forgets ended tasks past their retention on every node, as a local journal does', async () => {
    const cluster = new MemoryCluster();
    const clock = new ManualClock();
    const retention = { completedMs: 1_000, failedMs: 5_000 };
    const a = await createRuntime({ clock, retention, transport: clusterTransport(cluster.backend('node-a')) });
    const b = await createRuntime({ clock, retention, transport: clusterTransport(cluster.backend('node-b')) });
    try {
      b.define('ok', { handler: () => 1 });
      b.define('bad', { retries: { attempts: 0 }, handler: () => { throw new Error('bad'); } });
      const ok = await a.submit('ok');
      const bad = await a.submit('bad');
      assert.equal((await ok.result()).status, 'completed');
      assert.equal((await bad.result()).status, 'failed');
      clock.advance(1_500);
      // The next record anywhere in the cluster moves every replica's "now" on.
      await (await a.submit('ok')).result();
      for (const rt of [a, b]) {
        assert.equal(rt.get(ok.id), undefined, 'the completed task is past its 1 s');
        assert.equal(rt.get(bad.id)?.status, 'failed', 'the failed one is kept for 5 s');
      }
    } finally {
      await Promise.all([a.shutdown({ timeoutMs: 0 }), b.shutdown({ timeoutMs: 0 })]);
    }
  });

  it('durable waits across nodes: a task parked on a node is woken by a signal sent from another, or by its sleep ending, and runs on without re-running its steps', async () => {
    const cluster = new MemoryCluster();
    const clock = new ManualClock();
    const drafted: string[] = [];
    const all = await nodes(cluster, 0, () => undefined);
    const front = await createRuntime({ clock, transport: clusterTransport(cluster.backend('front')) });
    const worker = await createRuntime({ clock, concurrency: 2, transport: clusterTransport(cluster.backend('worker')) });
    all.push(front, worker);
    worker.define('review', {
      handler: async (input: { id: string }, ctx) => {
        const draft = await ctx.step('draft', () => {
          drafted.push(input.id);
          return `draft ${input.id}`;
        });
        const decision = await ctx.waitForSignal<{ approved: boolean }>('approval');
        await ctx.sleep('cool-down', 60_000);
        return { draft, approved: decision.approved };
      },
    });
    const waitingFor = (rt: Runtime, id: string, name: string) =>
      new Promise<void>((resolve) => {
        const check = () => rt.get(id)?.waitingFor?.name === name && resolve();
        rt.events({ policy: 'block' }).subscribe(check);
        check();
      });
    try {
      const handle = await front.submit('review', { id: 'r1' });
      await waitingFor(front, handle.id, 'approval');
      assert.equal(front.get(handle.id)?.status, 'waiting', 'the front node sees it wait');
      assert.equal(worker.queueStatus().running, 0, 'the worker holds no claim while it waits');
      const receipt = await front.signal(handle.id, 'approval', { approved: true });
      assert.equal(receipt.delivered, true);
      await waitingFor(front, handle.id, 'cool-down');
      clock.advance(60_000);
      const outcome = await handle.result();
      assert.equal(outcome.status, 'completed');
      assert.deepEqual(outcome.result, { draft: 'draft r1', approved: true });
      assert.deepEqual(drafted, ['r1'], 'the step ran once over three runs');
      assert.equal(outcome.attempts, 3);
      await assert.rejects(() => front.signal(handle.id, 'approval', {}), { code: 'STEWARD_INVALID_STATE' });
      await assert.rejects(() => front.signal(handle.id, '', {}), { code: 'STEWARD_INVALID_OPTIONS' });
    } finally {
      await Promise.all(all.map((rt) => rt.shutdown({ timeoutMs: 0 })));
    }
  });

  it('a signal sent before the task waits for it is kept, and the wait takes it at once', async () => {
    const { front, worker, gate, open } = await frontAndWorker();
    worker.define('late', {
      handler: async (_input, ctx) => {
        await gate;
        return ctx.waitForSignal<string>('go');
      },
    });
    try {
      const handle = await front.submit('late');
      await new Promise<void>((resolve) => {
        const check = () => front.get(handle.id)?.status === 'running' && resolve();
        front.events({ policy: 'block' }).subscribe(check);
        check();
      });
      assert.equal((await front.signal(handle.id, 'go', 'now')).taskStatus, 'running', 'kept: no wait has taken it yet');
      open();
      const outcome = await handle.result();
      assert.equal(outcome.status, 'completed');
      assert.equal(outcome.result, 'now');
    } finally {
      await Promise.all([front.shutdown({ timeoutMs: 0 }), worker.shutdown({ timeoutMs: 0 })]);
    }
  });

  it('tells every node how far a running task has come, on its snapshot and as events', async () => {
    const { front, worker, gate, open } = await frontAndWorker();
    worker.define('long', {
      handler: async (_input, ctx) => {
        ctx.progress(50, 'half way');
        await gate;
        return 1;
      },
    });
    try {
      const seen: Array<{ percent: number; message?: string }> = [];
      const handle = await front.submit('long');
      await new Promise<void>((resolve) => {
        front.events({ policy: 'block' }).subscribe((event) => {
          if (event.type !== 'task:progress' || event.taskId !== handle.id) return;
          seen.push({ percent: event.percent, ...(event.message === undefined ? {} : { message: event.message }) });
          resolve();
        });
      });
      assert.deepEqual(seen, [{ percent: 50, message: 'half way' }]);
      assert.deepEqual(front.get(handle.id)?.progress, { percent: 50, message: 'half way' });
      open();
      assert.equal((await handle.result()).status, 'completed');
    } finally {
      open();
      await Promise.all([front.shutdown({ timeoutMs: 0 }), worker.shutdown({ timeoutMs: 0 })]);
    }
  });

  it("holds a type's concurrency for the whole cluster, not per node", async () => {
    const cluster = new MemoryCluster();
    let running = 0;
    let most = 0;
    const all = await nodes(cluster, 3, (rt) =>
      rt.define('scarce', {
        concurrency: 2,
        handler: async () => {
          most = Math.max(most, ++running);
          await new Promise((resolve) => setImmediate(resolve));
          running--;
        },
      }),
    );
    try {
      const handles = await Promise.all(Array.from({ length: 12 }, () => all[0]!.submit('scarce')));
      for (const handle of handles) assert.equal((await handle.result()).status, 'completed');
      assert.equal(most, 2, 'three nodes with room for two each, and never more than two at once');
    } finally {
      await Promise.all(all.map((rt) => rt.shutdown({ timeoutMs: 0 })));
    }
  });

  it("a task's budget counts what it used on every node: run again elsewhere, it cannot pass it", async () => {
    const cluster = new MemoryCluster();
    const rateLimits = { tokens: { limit: 1_000, intervalMs: 60_000 } };
    const spend = { handler: async (_input: unknown, ctx: { rateLimit: (bucket: string, options: { cost: number }) => Promise<void> }) => {
      await ctx.rateLimit('tokens', { cost: 6 });
      throw new Error('the model answered nonsense');
    } };
    const a = await createRuntime({ rateLimits, transport: clusterTransport(cluster.backend('a')) });
    const b = await createRuntime({ rateLimits, transport: clusterTransport(cluster.backend('b')) });
    try {
      a.define('spend', { retries: { attempts: 0 }, ...spend });
      const handle = await b.submit('spend', null, { budget: { tokens: 10 } });
      const first = await handle.result();
      assert.equal(first.error?.message, 'the model answered nonsense');
      assert.deepEqual(b.get(handle.id)?.usage, { tokens: 6 });
      // Run again on the other node: 6 more would make 12 of a budget of 10.
      await a.shutdown({ timeoutMs: 0 });
      b.define('spend', { retries: { attempts: 0 }, ...spend });
      await b.retry(handle.id);
      const second = await b.task(handle.id)!.result();
      assert.equal(second.status, 'failed');
      assert.equal(second.error?.code, 'STEWARD_BUDGET_EXCEEDED');
    } finally {
      await Promise.all([a, b].map((rt) => rt.shutdown({ timeoutMs: 0 })));
    }
  });

  it('refuses an input the shared journal cannot store with STEWARD_NOT_SERIALIZABLE, and takes the submissions of the same turn', async () => {
    const cluster = new MemoryCluster();
    const [a] = await nodes(cluster, 1, (rt) => rt.define('t', { handler: (input: { n: unknown }) => input.n }));
    try {
      const [bad, good] = await Promise.allSettled([a!.submit('t', { n: 10n }), a!.submit('t', { n: 1 })]);
      assert.equal(bad.status, 'rejected');
      assert.equal((bad as PromiseRejectedResult).reason.code, 'STEWARD_NOT_SERIALIZABLE');
      assert.equal(good.status, 'fulfilled');
      assert.equal((await (good as PromiseFulfilledResult<Awaited<ReturnType<Runtime['submit']>>>).value.result()).result, 1);
    } finally {
      await a!.shutdown({ timeoutMs: 0 });
    }
  });

  it('refuses a bad workflow webhook and the retry of a completed task as on one machine', async () => {
    const cluster = new MemoryCluster();
    const [a] = await nodes(cluster, 1, (rt) => rt.define('t', { handler: () => 1 }));
    try {
      const done = await a!.submit('t');
      await done.result();
      await assert.rejects(() => a!.createWorkflow({ name: 'w', webhook: { url: 'http://localhost./hook', secret: 's' } }), { code: 'STEWARD_INVALID_OPTIONS', message: /^workflow\.webhook\.url/ });
      await assert.rejects(() => a!.retry(done.id), { code: 'STEWARD_INVALID_STATE' });
    } finally {
      await a!.shutdown({ timeoutMs: 0 });
    }
  });
});
