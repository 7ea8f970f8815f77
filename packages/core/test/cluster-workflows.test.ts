import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRuntime } from '../src/api/create-runtime.js';
import type { Runtime } from '../src/api/runtime.js';
import type { JournalRecord } from '../src/journal/journal-record.js';
import type { ClusterBackend } from '../src/transport/cluster-backend.js';
import { clusterTransport } from '../src/transport/cluster-transport.js';
import { MemoryCluster } from '../src/transport/memory-cluster.js';
import { within } from './helpers.js';

// Workflows in cluster mode on the in-memory shared store, where a node's death can be
// played exactly: its writes stop reaching the store from a given point on.

/** A node that starts workflows (with `starterOptions`) and one other node, of a fresh cluster; both shut down after `body`. */
async function twoNodes(starterOptions: { maxQueue?: number }, body: (starter: Runtime, other: Runtime) => Promise<void>): Promise<void> {
  const cluster = new MemoryCluster();
  const starter = await createRuntime({ ...starterOptions, transport: clusterTransport(cluster.backend('starter')) });
  const other = await createRuntime({ transport: clusterTransport(cluster.backend('other')) });
  try {
    await body(starter, other);
  } finally {
    await Promise.all([starter.shutdown({ timeoutMs: 0 }), other.shutdown({ timeoutMs: 0 })]);
  }
}

describe('cluster workflows on an in-memory store', () => {
  it('a start is stored with all its tasks or not at all: a node that dies while starting leaves no workflow stuck half started', async () => {
    const cluster = new MemoryCluster();
    const inner = cluster.backend('starter');
    let dead = false;
    // The starter dies right after its first write that holds a workflow:started record:
    // nothing it writes or enqueues after that reaches the store.
    const dying: ClusterBackend = {
      ...inner,
      append: async (records: readonly JournalRecord[]) => {
        if (dead) throw new Error('this node is dead');
        if (records.some((record) => record.type === 'workflow:started')) dead = true;
        await inner.append(records);
      },
      enqueue: async (tasks) => {
        if (dead) throw new Error('this node is dead');
        await inner.enqueue(tasks);
      },
    };
    const starter = await createRuntime({ transport: clusterTransport(dying) });
    const worker = await createRuntime({ transport: clusterTransport(cluster.backend('worker')) });
    try {
      worker.define('step', { handler: (n: number) => n + 1 });
      const workflow = await starter.createWorkflow({ name: 'w' });
      workflow.addPhase({ id: 'one', tasks: [{ id: 'a', type: 'step', input: 1 }, { id: 'b', type: 'step', input: 2 }] });
      workflow.addPhase({ id: 'two', dependsOn: ['one'], tasks: [{ id: 'c', type: 'step', input: 3 }] });
      // It dies while starting: its answer is an error (or never comes).
      await assert.rejects(() => workflow.start());
      const seen = worker.getWorkflow(workflow.id);
      assert.ok(seen !== undefined);
      // Stored together, the start's three tasks are in the store.
      await inner.caughtUp();
      const status = seen.getStatus();
      assert.equal(Object.keys(status.tasks).length, 3, `the start was stored with all its tasks: ${JSON.stringify(status.tasks)}`);
      assert.equal(status.status, 'running');
      // A node that joins enqueues what a dead submitter left unclaimable.
      const rejoined = await createRuntime({ transport: clusterTransport(cluster.backend('rejoined')) });
      try {
        const outcome = await within(seen.result(), () => `stuck: ${JSON.stringify(seen.getStatus())}`);
        assert.equal(outcome.status, 'completed');
        assert.deepEqual(outcome.results, { a: 2, b: 3, c: 4 });
      } finally {
        await rejoined.shutdown({ timeoutMs: 0 });
      }
    } finally {
      await Promise.all([starter.shutdown({ timeoutMs: 0 }), worker.shutdown({ timeoutMs: 0 })]);
    }
  });

  it('a start that a task is refused in (a full queue) cancels the workflow, and every node sees it cancelled', () =>
    twoNodes({ maxQueue: 2 }, async (starter, other) => {
      // No node runs 'later': what is submitted waits in the queue.
      const workflow = await starter.createWorkflow({ name: 'too big' });
      workflow.addPhase({ id: 'one', tasks: ['a', 'b', 'c'].map((id) => ({ id, type: 'later' })) });
      await assert.rejects(() => workflow.start(), { code: 'STEWARD_QUEUE_FULL' });
      assert.equal(workflow.getStatus().status, 'cancelled');
      const seen = other.getWorkflow(workflow.id);
      assert.ok(seen !== undefined);
      assert.equal((await within(seen.result(), () => `not cancelled on the other node: ${JSON.stringify(seen.getStatus())}`)).status, 'cancelled');
    }));

  it('a start refused at its first task ends the workflow cancelled, at its cancel time, on every node', () =>
    twoNodes({ maxQueue: 1 }, async (starter, other) => {
      // The queue is full before the start (no node runs 'later'): not one of its tasks is submitted.
      await starter.submit('later');
      const workflow = await starter.createWorkflow({ name: 'refused' });
      workflow.addPhase({ id: 'one', tasks: [{ id: 'a', type: 'later' }] });
      await new Promise((resolve) => setImmediate(resolve));
      const seen = other.getWorkflow(workflow.id);
      assert.ok(seen !== undefined);
      const waiting = seen.result(); // asked before the start: it must be answered
      await assert.rejects(() => workflow.start(), { code: 'STEWARD_QUEUE_FULL' });
      const outcome = await within(waiting, 'the other node never saw it end');
      assert.equal(outcome.status, 'cancelled');
      assert.ok(outcome.endedAt > 0, `ended at ${outcome.endedAt}`);
      assert.equal(outcome.endedAt, (await workflow.result()).endedAt, 'the same end on both nodes');
    }));
});
