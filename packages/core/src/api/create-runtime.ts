import { Engine } from '../engine/engine.js';
import { InvalidOptionsError } from '../model/errors.js';
import { resolveRuntimeOptions, type RuntimeOptions } from '../model/options.js';
import { loadOtelApi } from '../tracing/otel-api.js';
import type { Transport } from '../transport/transport.js';
import { tappedMemoryStore, transportNode } from '../transport/transport-node.js';
import { Runtime } from './runtime.js';

/** Options of `createRuntime`: the runtime's, and where task state lives (`transport`, default local). */
export type CreateRuntimeOptions = RuntimeOptions & {
  /**
   * Where task state lives and how ready tasks are claimed. Absent: this process (the
   * journal, `dataDir`). `bullmqTransport(...)` of `@steward/adapters`: Redis, shared by
   * every node of a cluster; the node's own journal is then in memory.
   */
  transport?: Transport;
};

/** Creates a runtime. With `dataDir` it journals to LevelDB and recovers what it finds there. */
export async function createRuntime(options: CreateRuntimeOptions = {}): Promise<Runtime> {
  if (options === null || typeof options !== 'object') throw new InvalidOptionsError('options must be an object');
  const { transport, ...local } = options;
  if (transport === undefined) {
    const resolved = resolveRuntimeOptions(local);
    // An optional peer dependency, loaded here once so the task path never waits for it.
    await loadOtelApi();
    return new Runtime(await Engine.create(resolved));
  }
  if (transport === null || typeof transport !== 'object' || typeof transport.connect !== 'function' || typeof transport.kind !== 'string') {
    throw new InvalidOptionsError('options.transport must be a Transport (an object with kind and connect)');
  }
  if (local.dataDir !== undefined || local.store !== undefined) {
    throw new InvalidOptionsError('options.transport keeps the record of tasks itself: dataDir and store are for the local transport');
  }
  const { store, listeners } = tappedMemoryStore();
  const resolved = resolveRuntimeOptions({ ...local, store });
  await loadOtelApi();
  // The schedules are the cluster's (one node fires them); the node's own engine has none.
  const engine = await Engine.create({ ...resolved, schedules: {} });
  try {
    return new Runtime(await transport.connect(transportNode(engine, listeners, resolved.schedules)));
  } catch (error) {
    await engine.shutdown(0, false).catch(() => undefined);
    throw error;
  }
}
