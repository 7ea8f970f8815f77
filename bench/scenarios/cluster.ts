import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { createRuntime } from '@steward/core';
import { bullmqTransport } from '@steward/adapters';
import { runAlternating, type Contestant } from '../repeat.js';
import type { Result, Scenario, ScenarioOptions } from '../scenario.js';
import { bullRate, startRedis } from './bullmq.js';

const NAME = 'cluster';
const NODE = fileURLToPath(new URL('../workers/cluster-node.js', import.meta.url));
/** Every node process's concurrency in the scaling part, and the bare BullMQ worker's in the first throughput pair. */
const CONCURRENCY = 8;
/**
 * The throughput pairs: Steward's node and the bare BullMQ worker at the same
 * concurrency, 8 (as in the scaling part) and 64 (bare BullMQ runs no faster there;
 * Steward's node shares each append and journal read among more tasks).
 */
const THROUGHPUT_CONCURRENCY = [8, 64] as const;
/** How long a node may take to join, or to shut down on SIGTERM, before the run gives up on it. */
const NODE_TIMEOUT_MS = 30_000;
const SCALING_BASELINE = 'cluster 1 node';
/** No-op tasks run per node process before a scaling run is timed, so that no node runs the timed work with cold code. */
const WARMUP_PER_NODE = 300;
const noopConfig = (concurrency: number) => `cluster noop 1 node c${concurrency}`;
const bullConfig = (concurrency: number) => `bare second-process c${concurrency}`;

/** A prefix no other run has used, so no run sees another's tasks. */
function freshPrefix(): string {
  return `bench-${Date.now()}-${Math.random().toString(16).slice(2)}`;
}

/** Resolves once the node prints READY; rejects if it exits first or takes too long. */
function ready(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`cluster node ${child.pid} not READY after ${NODE_TIMEOUT_MS} ms`)), NODE_TIMEOUT_MS);
    child.stdout?.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes('READY')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`cluster node ${child.pid} exited with ${code} before READY`));
    });
  });
}

/** SIGTERM (the node shuts its runtime down), then SIGKILL if it has not exited in time, which is logged. */
async function stopNode(child: ChildProcess, log: (line: string) => void): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => {
    log(`  cluster node ${child.pid} still running ${NODE_TIMEOUT_MS} ms after SIGTERM: killed`);
    child.kill('SIGKILL');
  }, NODE_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

/** `count` worker node processes of the cluster at `prefix`, each joined (READY) before this resolves. */
async function startNodes(port: number, prefix: string, count: number, concurrency: number, log: (line: string) => void): Promise<{ stop: () => Promise<void> }> {
  const children = Array.from({ length: count }, (_, i) =>
    spawn(process.execPath, [NODE, String(port), prefix, `node-${i + 1}`, String(concurrency)], { stdio: ['ignore', 'pipe', 'inherit'] }),
  );
  const stop = async () => {
    await Promise.all(children.map((child) => stopNode(child, log)));
  };
  try {
    await Promise.all(children.map(ready));
  } catch (error) {
    await stop();
    throw error;
  }
  return { stop };
}

/** Removes every key of the cluster at `prefix` (journal stream, queues), so Redis does not grow run after run. */
async function dropPrefix(port: number, prefix: string): Promise<void> {
  const redis = new Redis({ host: '127.0.0.1', port });
  try {
    for await (const keys of redis.scanStream({ match: `${prefix}:*`, count: 1_000 })) {
      if ((keys as string[]).length > 0) await redis.unlink(...(keys as string[]));
    }
  } finally {
    await redis.quit().catch(() => redis.disconnect());
  }
}

/**
 * Wall time, in ms, from the first submission to the last result of `count` tasks of
 * `type`, submitted all at once by a runtime in this process that defines no types,
 * and run by `nodes` node processes of a fresh cluster.
 */
async function clusterWallMs(port: number, nodes: number, type: 'sleep50' | 'noop', count: number, log: (line: string) => void, warmup = 0, concurrency = CONCURRENCY): Promise<number> {
  const prefix = freshPrefix();
  const workers = await startNodes(port, prefix, nodes, concurrency, log);
  try {
    const rt = await createRuntime({ transport: bullmqTransport({ connection: { host: '127.0.0.1', port }, prefix, nodeId: 'bench-submitter', stalledIntervalMs: 5_000 }) });
    try {
      // Untimed: the node processes are fresh, and a first burst runs their code cold.
      if (warmup > 0) await Promise.all((await Promise.all(Array.from({ length: warmup }, (_, i) => rt.submit('noop', { i })))).map((h) => h.result()));
      const start = performance.now();
      const handles = await Promise.all(Array.from({ length: count }, (_, i) => rt.submit(type, { i })));
      const outcomes = await Promise.all(handles.map((h) => h.result()));
      const ms = performance.now() - start;
      const failed = outcomes.filter((o) => o.status !== 'completed').length;
      if (failed > 0) throw new Error(`${failed} of ${count} cluster tasks did not complete`);
      return ms;
    } finally {
      await rt.shutdown();
    }
  } finally {
    await workers.stop();
    await dropPrefix(port, prefix);
  }
}

type Runner = Contestant & { run(): Promise<number> };

/** Part 1: the same sleep-bound tasks on 1, 2 and 3 node processes; wall time in ms. */
function scaling(port: number, tasks: number, repetitions: number, log: (line: string) => void): Promise<Result[]> {
  const runners: Runner[] = [1, 2, 3].map((nodes) => ({
    system: 'steward',
    config: nodes === 1 ? SCALING_BASELINE : `cluster ${nodes} nodes`,
    run: () => clusterWallMs(port, nodes, 'sleep50', tasks, log, WARMUP_PER_NODE * nodes),
  }));
  return runAlternating(runners, repetitions, (r) => r.run(), { scenario: NAME, metric: 'wall time', unit: 'ms', params: { tasks, taskMs: 50, concurrency: CONCURRENCY, repetitions } }, log);
}

/** Part 2: no-op tasks through Steward cluster mode on one node process, against bare BullMQ with its worker in a second process, at the same concurrency; tasks/s. */
async function throughput(port: number, tasks: number, repetitions: number, log: (line: string) => void): Promise<Result[]> {
  const results: Result[] = [];
  for (const concurrency of THROUGHPUT_CONCURRENCY) {
    const runners: Runner[] = [
      { system: 'bullmq', config: bullConfig(concurrency), run: () => bullRate(port, tasks, concurrency, true) },
      { system: 'steward', config: noopConfig(concurrency), run: async () => tasks / ((await clusterWallMs(port, 1, 'noop', tasks, log, 0, concurrency)) / 1000) },
    ];
    results.push(...(await runAlternating(runners, repetitions, (r) => r.run(), { scenario: NAME, metric: 'throughput', unit: 'tasks/s', params: { tasks, concurrency, repetitions } }, log)));
  }
  return results;
}

/**
 * Steward's cluster mode on BullMQ and one redis-server (appendonly, fsync every second)
 * started and stopped here. Scaling: N tasks that each await a 50 ms timer, submitted
 * at once from this process and run by 1, 2 and 3 node processes (concurrency 8 each);
 * wall time from the first submission to the last result (the goal: 3 nodes at most
 * 0.4x the time of 1). Throughput: M no-op tasks on one node process against bare BullMQ
 * with its worker in a second process, both at concurrency 8, then both at 64 (the goal:
 * at least 0.5x).
 */
export const cluster: Scenario = {
  name: NAME,
  description: 'cluster mode on BullMQ + redis-server (AOF everysec): N 50 ms sleep tasks on 1, 2 and 3 node processes (wall ms), and M no-op tasks on one node process against bare BullMQ with a second-process worker, both at concurrency 8 and at 64 (tasks/s)',
  baseline: {
    system: 'steward',
    systemFor: (config) => (config.startsWith('cluster noop') ? 'bullmq' : 'steward'),
    match: (config) => (config.startsWith('cluster noop') ? bullConfig(Number(config.slice(config.lastIndexOf('c') + 1))) : SCALING_BASELINE),
  },
  async run({ quick, log }: ScenarioOptions): Promise<Result[]> {
    if (spawnSync('redis-server', ['--version']).status !== 0) {
      log('  skipped: redis-server is not installed (Debian: apt-get install redis-server); cluster mode on BullMQ needs it');
      return [];
    }
    const sleepTasks = quick ? 120 : 600;
    const noopTasks = quick ? 1_000 : 10_000;
    const repetitions = quick ? 2 : 3;
    const redis = await startRedis('aof-everysec');
    try {
      return [...(await scaling(redis.port, sleepTasks, repetitions, log)), ...(await throughput(redis.port, noopTasks, repetitions, log))];
    } finally {
      await redis.stop();
    }
  },
};
