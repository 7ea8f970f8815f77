import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryLogStore, type AppendReceipt, type LogStore, type ReadOptions, type Snapshot } from '@steward/store';
import type { SupervisionNode } from '../src/index.js';
import { ManualClock, withRuntime } from '../src/testing.js';
import { settle, WORKERS } from './helpers.js';

class FlakyStore implements LogStore {
  constructor(readonly inner: MemoryLogStore, public failures: number) {}
  get lastSeq(): number {
    return this.inner.lastSeq;
  }
  append(values: readonly unknown[]): AppendReceipt {
    const receipt = this.inner.append(values);
    if (this.failures <= 0) return receipt;
    this.failures--;
    return { ...receipt, durable: Promise.reject(new Error('disk full')) };
  }
  read(options?: ReadOptions) {
    return this.inner.read(options);
  }
  saveSnapshot<S>(snapshot: Snapshot<S>) {
    return this.inner.saveSnapshot(snapshot);
  }
  loadSnapshot<S>() {
    return this.inner.loadSnapshot<S>();
  }
  dropBelow(seq: number) {
    return this.inner.dropBelow(seq);
  }
  appendBlob(key: string, chunk: unknown) {
    this.inner.appendBlob(key, chunk);
  }
  readBlobs(key: string) {
    return this.inner.readBlobs(key);
  }
  closeBlob(key: string) {
    this.inner.closeBlob(key);
  }
  dropBlobs(key: string) {
    return this.inner.dropBlobs(key);
  }
  flush() {
    return this.inner.flush();
  }
  close() {
    return this.inner.close();
  }
}

function find(node: SupervisionNode, name: string): SupervisionNode | undefined {
  if (node.name === name) return node;
  for (const child of node.children) {
    const found = find(child, name);
    if (found !== undefined) return found;
  }
  return undefined;
}

describe('supervision', () => {
  it('shows the tree: root, services, executors with their task types, workflows', () =>
    withRuntime({}, async (rt) => {
      rt.define('inline-type', { handler: () => 1 });
      rt.define('worker-type', { module: WORKERS });
      const tree = rt.supervision();
      assert.equal(tree.name, 'root');
      assert.deepEqual(tree.children.map((c) => [c.name, c.strategy]), [['services', 'rest-for-one'], ['executors', 'one-for-one'], ['workflows', 'one-for-one']]);
      assert.deepEqual(find(tree, 'services')?.children.map((c) => c.name), ['journal']);
      assert.deepEqual(find(tree, 'executors')?.children.map((c) => c.name), ['inline', 'worker']);
      assert.deepEqual(find(tree, 'inline')?.children.map((c) => [c.name, c.state, c.restarts]), [['type:inline-type', 'running', 0]]);
      assert.deepEqual(find(tree, 'worker')?.children.map((c) => c.name), ['type:worker-type']);
    }));

  it('quarantines a task type that keeps crashing instead of burning through its queue, then lets it run again', () => {
    const clock = new ManualClock();
    return withRuntime({ clock, concurrency: 1, workers: { minThreads: 1, maxThreads: 1 } }, async (rt) => {
      rt.define('crashy', { module: WORKERS, export: 'exit', supervision: { maxRestarts: 2, withinMs: 60_000, quarantineMs: 5_000 } });
      const quarantined: Array<{ taskType: string; until: number }> = [];
      rt.on('supervisor:quarantined', (e) => quarantined.push({ taskType: e.taskType, until: e.until }));
      const handles = [];
      for (let i = 0; i < 6; i++) handles.push(await rt.submit('crashy'));
      const first = await Promise.all(handles.slice(0, 3).map((h) => h.result()));
      assert.deepEqual(first.map((o) => o.error?.code), ['STEWARD_WORKER_CRASHED', 'STEWARD_WORKER_CRASHED', 'STEWARD_QUARANTINED']);
      await settle(20);
      assert.deepEqual(quarantined, [{ taskType: 'crashy', until: clock.now() + 5_000 }]);
      assert.deepEqual(handles.slice(3).map((h) => h.getStatus().status), ['queued', 'queued', 'queued'], 'the rest wait');
      assert.deepEqual(rt.queueStatus().items.map((i) => i.reason), ['quarantined', 'quarantined', 'quarantined']);
      const node = find(rt.supervision(), 'type:crashy');
      assert.equal(node?.state, 'quarantined');
      assert.equal(node?.restarts, 3);
      clock.advance(5_010);
      const rest = await Promise.all(handles.slice(3).map((h) => h.result()));
      assert.deepEqual(rest.map((o) => o.error?.code), ['STEWARD_WORKER_CRASHED', 'STEWARD_WORKER_CRASHED', 'STEWARD_QUARANTINED']);
    });
  });

  it('does not quarantine a type whose tasks fail without crashing', () =>
    withRuntime({ concurrency: 1, supervision: { maxRestarts: 1 } }, async (rt) => {
      rt.define('fails', { handler: () => { throw new Error('plain failure'); } });
      for (let i = 0; i < 4; i++) assert.equal((await (await rt.submit('fails')).result()).error?.code, 'STEWARD_HANDLER_ERROR');
      assert.equal(find(rt.supervision(), 'type:fails')?.state, 'running');
    }));

  it('restarts the journal writer when a write fails, and escalates to the root when it keeps failing', async () => {
    // A store whose writes fail a given number of times: the failure is real data
    // the runtime has to handle, not a mock of a behaviour.
    const flaky = new FlakyStore(new MemoryLogStore(), 4);
    const warnings: string[] = [];
    const errors: string[] = [];
    await withRuntime({ store: flaky, logger: { warn: (m: string) => warnings.push(m), error: (m: string) => errors.push(m) } }, async (rt) => {
      rt.define('t', { handler: () => 1 });
      for (let i = 0; i < 4; i++) {
        // A submission is acknowledged once written: while writes fail, it is refused.
        await rt.run('t').catch((error: unknown) => assert.equal((error as { code?: string }).code, 'STEWARD_STORE_UNAVAILABLE'));
        await settle();
      }
      const tree = rt.supervision();
      assert.equal(find(tree, 'journal')?.restarts, 3);
      assert.equal(find(tree, 'services')?.restarts, 1, 'the root restarted the services supervisor');
      assert.ok(warnings.some((w) => /supervisor services gave up/.test(w)));
      assert.equal(await rt.run('t'), 1, 'the runtime goes on');
    });
  });
});

describe('worker pool hardening', () => {
  const workers = { minThreads: 1, maxThreads: 1 };

  it('does not fail the next task when a module ends its thread after returning', () =>
    withRuntime({ concurrency: 1, workers, logger: { warn: () => undefined, error: () => undefined } }, async (rt) => {
      rt.define('exit-after', { module: WORKERS, export: 'exitAfterReturn' });
      rt.define('slow', { module: WORKERS, export: 'slowNoop' });
      assert.equal(await rt.run('exit-after'), 'returned first');
      assert.equal(await rt.run('slow'), 'slow done');
      assert.equal(rt.metrics().restarts, 0);
    }));

  it('does not fail the next task when a timer of a finished task throws', () => {
    const warnings: string[] = [];
    return withRuntime({ concurrency: 1, workers, logger: { warn: (m: string) => warnings.push(m), error: () => undefined } }, async (rt) => {
      rt.define('throw-after', { module: WORKERS, export: 'throwAfterReturn' });
      rt.define('slow', { module: WORKERS, export: 'slowNoop' });
      assert.equal(await rt.run('throw-after'), 'returned first');
      assert.equal(await rt.run('slow'), 'slow done');
      await settle(10);
      assert.ok(warnings.some((w) => /threw after it ended/.test(w)), warnings.join('\n'));
    });
  });

  it('fails without retrying when the module fails to load', () =>
    withRuntime({ concurrency: 1, workers }, async (rt) => {
      rt.define('broken', { module: new URL('./fixtures/broken-module.js', import.meta.url), retries: { attempts: 3 } });
      const outcome = await (await rt.submit('broken')).result();
      assert.equal(outcome.error?.code, 'STEWARD_HANDLER_ERROR');
      assert.match(outcome.error?.message ?? '', /could not load.*fails to load/);
      assert.equal(outcome.attempts, 1);
      rt.define('ok', { module: WORKERS, export: 'noop' });
      assert.equal(await rt.run('ok'), 1);
    }));

  it('gives a task type its own memory limit in a pool of its own', () =>
    withRuntime({ concurrency: 2, workers: { minThreads: 0, maxThreads: 1 } }, async (rt) => {
      rt.define('small', { module: WORKERS, export: 'allocate64', resourceLimits: { maxOldGenerationSizeMb: 16 } });
      rt.define('roomy', { module: WORKERS, export: 'allocate64' });
      const [small, roomy] = await Promise.all([(await rt.submit('small')).result(), (await rt.submit('roomy')).result()]);
      assert.equal(small.error?.code, 'STEWARD_WORKER_CRASHED');
      assert.equal(roomy.result, 8);
    }));
});
