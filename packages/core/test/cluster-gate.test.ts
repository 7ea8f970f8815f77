import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveRuntimeOptions } from '../src/model/options.js';
import { ClusterGate } from '../src/transport/cluster-gate.js';
import { MemoryCluster } from '../src/transport/memory-cluster.js';
import { within } from './helpers.js';

// A node's handlers asking the cluster's bucket for units (ctx.rateLimit in cluster mode),
// on the in-memory store with a manual store clock: in line per bucket, and a stop ends a
// wait at once.

function gateOn(cluster: MemoryCluster): ClusterGate {
  const options = resolveRuntimeOptions({ rateLimits: { tokens: { limit: 10, intervalMs: 60_000 } } });
  return new ClusterGate({ backend: cluster.backend('n'), options, definitionOf: () => undefined });
}

describe('ClusterGate units for running handlers', () => {
  it('refuses at once a take whose attempt has already stopped, even behind a waiting one', async () => {
    const gate = gateOn(new MemoryCluster({ now: () => 0 }));
    assert.equal((await gate.take('tokens', 10, new AbortController().signal, () => undefined)).units, 10);
    // The window is full for a minute: this one waits in line.
    const waiting = new AbortController();
    const first = gate.take('tokens', 5, waiting.signal, () => undefined);
    first.catch(() => undefined);
    const stopped = new AbortController();
    stopped.abort(new Error('attempt over'));
    await assert.rejects(() => within(gate.take('tokens', 1, stopped.signal, () => undefined), 'the stopped take waited in line', 5_000), /attempt over/);
    waiting.abort(new Error('stop'));
    await assert.rejects(first, /stop/);
    await gate.stop();
  });

  it('asks for one handler at a time: one that stops while in line does not let the next ask before the one ahead of it', async () => {
    let now = 0;
    const gate = gateOn(new MemoryCluster({ now: () => now }));
    const order: string[] = [];
    await gate.take('tokens', 5, new AbortController().signal, () => undefined);
    const take = (name: string, cost: number, signal = new AbortController().signal) =>
      gate.take('tokens', cost, signal, () => undefined).then(() => void order.push(name));
    const a = take('a', 8);
    const leaving = new AbortController();
    const b = take('b', 1, leaving.signal);
    b.catch(() => undefined);
    const c = take('c', 1);
    leaving.abort(new Error('b stopped'));
    await assert.rejects(b, /b stopped/);
    await new Promise((resolve) => setImmediate(resolve));
    // 5 of 10 taken: c's 1 unit would fit, a's 8 do not; c waits for a all the same.
    assert.deepEqual(order, []);
    now = 60_000;
    gate.freed();
    await Promise.all([a, c]);
    assert.deepEqual(order, ['a', 'c']);
    await gate.stop();
  });
});
