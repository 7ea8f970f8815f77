import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue, QueueEvents, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { createRuntime } from '@steward/core';
import { runAlternating, type Contestant } from '../repeat.js';
import type { Result, Scenario, ScenarioOptions } from '../scenario.js';

const REMOTE_WORKER = fileURLToPath(new URL('../workers/bullmq-worker.js', import.meta.url));

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A redis-server of our own on 127.0.0.1, persistence off or appendonly with fsync every second. */
export async function startRedis(persistence: 'off' | 'aof-everysec'): Promise<{ port: number; stop: () => Promise<void> }> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'steward-bench-redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--daemonize', 'no', '--loglevel', 'warning'];
  if (persistence === 'aof-everysec') args.push('--appendonly', 'yes', '--appendfsync', 'everysec');
  else args.push('--appendonly', 'no');
  const server: ChildProcess = spawn('redis-server', args, { stdio: 'ignore' });
  for (let i = 0; i < 200; i++) {
    const pong = spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' });
    if (pong.stdout?.trim() === 'PONG') break;
    await new Promise((r) => setTimeout(r, 25));
  }
  return {
    port,
    async stop() {
      const exited = new Promise((r) => server.once('exit', r));
      server.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** `count` no-op jobs through BullMQ, with the worker in this process or in a second one. */
export async function bullRate(port: number, count: number, concurrency: number, remote: boolean): Promise<number> {
  // Each BullMQ object its own connection (workers block on theirs), built here: BullMQ under ESM wants instances.
  const connections: Redis[] = [];
  const connect = () => {
    const connection = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: null });
    connections.push(connection);
    return connection;
  };
  const name = `bench-${Date.now()}-${Math.random().toString(16).slice(2)}`;
  const queue = new Queue(name, { connection: connect() });
  const events = new QueueEvents(name, { connection: connect() });
  await events.waitUntilReady();
  let worker: Worker | undefined;
  let child: ChildProcess | undefined;
  if (remote) {
    child = spawn(process.execPath, [REMOTE_WORKER, String(port), name, String(concurrency)], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => child?.stdout?.once('data', () => resolve()));
  } else {
    worker = new Worker(name, async () => 1, { connection: connect(), concurrency });
    await worker.waitUntilReady();
  }
  let done = 0;
  const finished = new Promise<void>((resolve) => {
    events.on('completed', () => {
      if (++done === count) resolve();
    });
  });
  const start = performance.now();
  await queue.addBulk(Array.from({ length: count }, (_, i) => ({ name: 'noop', data: { i }, opts: { removeOnComplete: true } })));
  await finished;
  const rate = count / ((performance.now() - start) / 1000);
  await worker?.close();
  if (child !== undefined) {
    const exited = new Promise((r) => child?.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
  await events.close();
  await queue.obliterate({ force: true });
  await queue.close();
  // Connections handed in are ours to close, not BullMQ's.
  await Promise.all(connections.map((c) => c.quit().catch(() => c.disconnect())));
  return rate;
}

async function stewardDurableRate(count: number, concurrency: number): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'steward-bench-bull-'));
  const rt = await createRuntime({ concurrency, dataDir: dir, snapshotEvery: 10_000_000 });
  try {
    rt.define('noop', { handler: async () => 1 });
    const start = performance.now();
    const handles = await Promise.all(Array.from({ length: count }, () => rt.submit('noop', { i: 0 })));
    await Promise.all(handles.map((h) => h.result()));
    return count / ((performance.now() - start) / 1000);
  } finally {
    await rt.shutdown();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Durable inline tasks against BullMQ on a real redis-server, started and stopped here. */
export const durableVsBullmq: Scenario = {
  name: 'durable-vs-bullmq',
  description: 'N no-op jobs: Steward inline on LevelDB (batched) against BullMQ on redis-server (persistence off, and appendonly everysec), worker in this process and in a second one; jobs per second',
  baseline: { system: 'bullmq', match: () => 'aof-everysec same-process' },
  async run({ quick, threads, log }: ScenarioOptions): Promise<Result[]> {
    if (spawnSync('redis-server', ['--version']).status !== 0) {
      log('  skipped: redis-server is not installed (Debian: apt-get install redis-server); BullMQ needs it');
      return [];
    }
    const count = quick ? 1_000 : 10_000;
    const repetitions = quick ? 2 : 3;
    const concurrency = Math.max(threads, 8);
    const results: Result[] = [];
    for (const persistence of ['off', 'aof-everysec'] as const) {
      const redis = await startRedis(persistence);
      try {
        const runners: Array<Contestant & { run(): Promise<number> }> = [
          { system: 'bullmq', config: `${persistence} same-process`, run: () => bullRate(redis.port, count, concurrency, false) },
          { system: 'bullmq', config: `${persistence} second-process`, run: () => bullRate(redis.port, count, concurrency, true) },
          ...(persistence === 'aof-everysec' ? [{ system: 'steward' as const, config: 'inline leveldb-batched', run: () => stewardDurableRate(count, concurrency) }] : []),
        ];
        results.push(...(await runAlternating(runners, repetitions, (r) => r.run(), { scenario: 'durable-vs-bullmq', metric: 'throughput', unit: 'jobs/s', params: { jobs: count, concurrency, repetitions } }, log)));
      } finally {
        await redis.stop();
      }
    }
    return results;
  },
};
