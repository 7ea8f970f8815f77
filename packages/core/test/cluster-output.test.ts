import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRuntime } from '../src/api/create-runtime.js';
import type { ClusterBackend } from '../src/transport/cluster-backend.js';
import { clusterTransport } from '../src/transport/cluster-transport.js';
import { MemoryCluster } from '../src/transport/memory-cluster.js';
import { deferred, within } from './helpers.js';

// rt.output in cluster mode on the in-memory store: a follower on one node of a task that
// runs on another. What it must survive: a message lost on the way, and its own node stopping.

describe('cluster output on an in-memory store', () => {
  it('a follower that missed a message (a reconnect) takes what it missed from the store, in order', async () => {
    const cluster = new MemoryCluster();
    const inner = cluster.backend('front');
    let drop = 0;
    // The front node loses the control message of the second line, as over a Redis reconnect.
    const lossy: ClusterBackend = {
      ...inner,
      onControl: (listener) => inner.onControl((message) => (message.kind === 'output' && ++drop === 2 ? undefined : listener(message))),
    };
    const front = await createRuntime({ transport: clusterTransport(lossy) });
    const worker = await createRuntime({ transport: clusterTransport(cluster.backend('worker')) });
    const steps = [deferred(), deferred()];
    try {
      worker.define('talk', {
        handler: async (_input, ctx) => {
          ctx.log('one');
          await steps[0]!.promise;
          ctx.log('two');
          await steps[1]!.promise;
          ctx.log('three');
          return 'done';
        },
      });
      const handle = await front.submit('talk');
      const followed: string[] = [];
      const seen = new Map<string, () => void>();
      const following = (async () => {
        for await (const chunk of front.output(handle.id, { follow: true })) {
          followed.push(chunk.data);
          seen.get(chunk.data)?.();
        }
      })();
      const sees = (line: string) => within(new Promise<void>((resolve) => (followed.includes(line) ? resolve() : seen.set(line, resolve))), `the follower never saw "${line}"`);
      await sees('one');
      steps[0]!.resolve();
      // 'two' is stored and its message lost on the way; then 'three' comes live and shows the gap.
      while (drop < 2) await new Promise((resolve) => setImmediate(resolve));
      steps[1]!.resolve();
      await sees('three');
      assert.deepEqual(followed, ['one', 'two', 'three']);
      await handle.result();
      await within(following, 'the follower did not end with the task');
    } finally {
      for (const step of steps) step.resolve();
      await Promise.all([front.shutdown({ timeoutMs: 0 }), worker.shutdown({ timeoutMs: 0 })]);
    }
  });

  it('a follower ends when its own node shuts down, though the task goes on elsewhere', async () => {
    const cluster = new MemoryCluster();
    const front = await createRuntime({ transport: clusterTransport(cluster.backend('front')) });
    const worker = await createRuntime({ transport: clusterTransport(cluster.backend('worker')) });
    const hold = deferred();
    try {
      worker.define('long', {
        handler: async (_input, ctx) => {
          ctx.log('started');
          return hold.promise;
        },
      });
      const handle = await front.submit('long');
      const started = deferred();
      const following = (async () => {
        for await (const _chunk of front.output(handle.id, { follow: true })) started.resolve();
      })();
      // The follower has had its line and waits for more.
      await within(started.promise, 'the follower never saw the first line');
      await front.shutdown({ timeoutMs: 0 });
      await within(following, 'the follower went on after its node stopped');
    } finally {
      hold.resolve();
      await Promise.all([front.shutdown({ timeoutMs: 0 }), worker.shutdown({ timeoutMs: 0 })]);
    }
  });
});
