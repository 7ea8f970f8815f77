// A redis-server of the test's own on a free loopback port, in a temporary directory,
// with `appendonly yes` (the store of record in cluster mode). Where redis-server is not
// installed the cluster tests are skipped with that reason, except under CI (`CI` set),
// where .ci/run installs it and its absence is a failure.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RedisServer {
  readonly port: number;
  /** Stops it (SIGTERM; the AOF is written). */
  stop(): Promise<void>;
  /** Starts it again on the same port and directory (after stop). */
  restart(): Promise<void>;
  /** Stops it and deletes its directory. */
  close(): Promise<void>;
}

/** Why the cluster tests cannot run here, or undefined when they can. */
export function redisMissing(): string | undefined {
  const found = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (found.status === 0) return undefined;
  if (process.env.CI !== undefined) throw new Error('redis-server is not installed, and CI must run the cluster tests (.ci/run installs it)');
  return 'redis-server is not installed here (Debian: apt-get install redis-server); the cluster tests need a real one';
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

async function ping(port: number): Promise<boolean> {
  const answer = spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' });
  return answer.stdout?.trim() === 'PONG';
}

export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'steward-redis-'));
  let server: ChildProcess | undefined;
  const start = async () => {
    server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'everysec', '--loglevel', 'warning'], { stdio: 'ignore' });
    for (let i = 0; i < 400; i++) {
      if (await ping(port)) return;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error(`redis-server did not answer on port ${port}`);
  };
  const stop = async () => {
    const running = server;
    server = undefined;
    if (running === undefined || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGTERM');
    await exited;
  };
  await start();
  return {
    port,
    stop,
    restart: start,
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
