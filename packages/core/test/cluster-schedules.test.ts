import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRuntime } from '../src/api/create-runtime.js';
import type { Runtime } from '../src/api/runtime.js';
import { clusterTransport } from '../src/transport/cluster-transport.js';
import { MemoryCluster } from '../src/transport/memory-cluster.js';
import { ManualClock } from '../src/testing.js';

// Schedules in cluster mode, on the in-memory shared store and a manual clock: kept in the
// shared journal, fired by the node that holds the schedules lease. On Redis: the
// bullmq-transport test of @steward/adapters.

describe('cluster schedules on an in-memory store', () => {
  it('fires a schedule once per firing for the whole cluster, from the node that leads; another takes over when it stops', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const cluster = new MemoryCluster({ now: () => clock.now(), leaseMs: 3_000 });
    const ran: string[] = [];
    const node = async (name: string, schedules = {}) => {
      const rt = await createRuntime({ clock, schedules, transport: clusterTransport(cluster.backend(name)) });
      rt.define('tick', { handler: () => void ran.push(name) });
      return rt;
    };
    /** Moves the clock on in steps, letting each step's work (leases renewed, tasks run) happen. */
    const pass = async (ms: number) => {
      for (let t = 0; t < ms; t += 250) {
        clock.advance(250);
        for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
      }
    };
    const ticks = (rt: Runtime) => rt.list({ type: 'tick' });
    const a = await node('a', { configured: { every: 60 * 60_000, type: 'tick' } });
    const b = await node('b');
    try {
      await pass(250);
      // Set on a node that does not lead; listed on both, with the configured one of a.
      await b.schedule('often', { every: 5_000, type: 'tick' });
      assert.deepEqual(a.schedules().map((s) => s.id), ['configured', 'often']);
      assert.deepEqual(b.schedules().map((s) => s.id), ['configured', 'often']);
      await pass(15_000);
      assert.equal(ticks(b).length, 3, 'three firings in 15 s, each one task for the cluster');
      assert.equal(cluster.journal.filter((r) => r.type === 'schedule:fired').length, 3, 'fired by one node only');
      assert.equal(b.schedules().find((s) => s.id === 'often')?.last, Date.UTC(2026, 0, 1) + 15_250, 'its grid starts when it was set, 250 ms in');
      // The leader stops: the other takes the lease at once and fires on.
      await a.shutdown({ timeoutMs: 0 });
      await pass(10_000);
      assert.equal(ticks(b).length, 5, 'two more firings, from b, none twice');
      await b.pauseSchedule('often');
      await pass(10_000);
      assert.equal(ticks(b).length, 5, 'paused: no more');
    } finally {
      await Promise.all([a.shutdown({ timeoutMs: 0 }), b.shutdown({ timeoutMs: 0 })]);
    }
  });
});
