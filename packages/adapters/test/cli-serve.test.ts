// `steward serve` as a person starts and stops it: the startup lines come before the
// server file that clients (and tests) wait for, a busy port is explained and leaves
// no token behind, and Ctrl-C says what happens to the work that is running.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createRuntime, type TaskSnapshot } from '@steward/core';
import { serve } from '../src/cli/serve.js';
import { bullmqTransport } from '../src/index.js';
import { freePort, redisMissing, startRedis, type RedisServer } from './redis-server.js';

const BIN = fileURLToPath(new URL('../../bin/steward.mjs', import.meta.url));
const SLOW_CONFIG = fileURLToPath(new URL('../../test/fixtures/slow-start.config.mjs', import.meta.url));

/** A started `steward` process with its output collected; `until` resolves when the output matches. */
function start(
  args: string[],
  env: Record<string, string> = {},
): { child: ChildProcess; out: () => string; err: () => string; until(pattern: RegExp): Promise<void>; untilErr(pattern: RegExp): Promise<void>; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  const seen = { out: '', err: '' };
  const watchers: Array<{ stream: 'out' | 'err'; pattern: RegExp; resolve: () => void }> = [];
  const check = () => {
    for (const w of [...watchers]) {
      if (w.pattern.test(seen[w.stream])) {
        watchers.splice(watchers.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    seen.out += chunk;
    check();
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    seen.err += chunk;
    check();
  });
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  const until = (stream: 'out' | 'err', pattern: RegExp) =>
    new Promise<void>((resolve, reject) => {
      watchers.push({ stream, pattern, resolve });
      check();
      void exited.then(() => reject(new Error(`steward exited before printing ${pattern}:\n${seen.out}\n${seen.err}`)));
    });
  return {
    child,
    out: () => seen.out,
    err: () => seen.err,
    until: (pattern) => until('out', pattern),
    untilErr: (pattern) => until('err', pattern),
    exited,
  };
}

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'steward-serve-'));
  dirs.push(dir);
  return dir;
}
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('steward serve', () => {
  it('prints every startup line before it writes the server file clients wait for', async () => {
    const dataDir = tempDir();
    const seen: Array<{ line: string; serverFile: boolean }> = [];
    const { stop } = await serve({ dataDir, port: 0, host: '127.0.0.1', log: (line) => seen.push({ line, serverFile: existsSync(join(dataDir, 'server.json')) }) });
    try {
      assert.ok(seen.some((s) => /token \(shown once/.test(s.line)), 'the token is shown');
      assert.deepEqual(
        seen.filter((s) => s.serverFile).map((s) => s.line),
        [],
        'no startup line is printed after server.json exists',
      );
      assert.ok(existsSync(join(dataDir, 'server.json')), 'the server file is written once serve() returns');
    } finally {
      await stop();
    }
  });

  it('on a busy port says which port and how to choose another, and keeps no token', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as AddressInfo).port;
    const dataDir = join(tempDir(), 'data');
    try {
      const busy = start(['serve', '--data', dataDir, '--port', String(port)]);
      assert.equal(await busy.exited, 1);
      const message = busy.err();
      assert.match(message, new RegExp(`port ${port} is already in use`));
      assert.match(message, /--port/, 'it says how to choose another port');
      assert.match(message, /npm start -- --port/, 'and how to do it through npm start');
      assert.equal(message.match(/EADDRINUSE/g)?.length ?? 0, message.includes('EADDRINUSE') ? 1 : 0, 'the system code at most once');
      assert.equal(existsSync(join(dataDir, 'token')), false, 'no token was created');
      assert.equal(existsSync(join(dataDir, 'server.json')), false);
    } finally {
      blocker.close();
    }
    // The next start that works is the first: it shows the token and the dashboard link.
    const server = start(['serve', '--data', dataDir, '--port', '0']);
    await server.until(/steward: try /);
    assert.match(server.out(), /token \(shown once; also in .*token\): [0-9a-f]{64}/);
    assert.match(server.out(), /dashboard http:\/\/127\.0\.0\.1:\d+\/#token=[0-9a-f]{64}/);
    server.child.kill('SIGTERM');
    assert.equal(await server.exited, 0);
  });

  it('on Ctrl-C says it is stopping and what happens to running work', async () => {
    const dataDir = tempDir();
    const server = start(['serve', '--data', dataDir, '--port', '0', '--allow', 'sh']);
    await server.until(/steward: try /);
    const url = /serving (http:\/\/\S+)/.exec(server.out())?.[1] as string;
    const token = /token \(shown once; also in .*token\): ([0-9a-f]{64})/.exec(server.out())?.[1] as string;
    // One task that runs until it is stopped, and one that waits for it.
    const add = async (body: unknown) => {
      const response = await fetch(`${url}/api/tasks`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      assert.equal(response.status, 201);
      return ((await response.json()) as { id: string }).id;
    };
    const running = await add({ command: 'sh', args: ['-c', 'sleep 60'] });
    for (;;) {
      const task = (await (await fetch(`${url}/api/tasks/${running}`, { headers: { authorization: `Bearer ${token}` } })).json()) as { status: string };
      if (task.status === 'running') break;
      await new Promise((resolve) => setImmediate(resolve));
    }
    server.child.kill('SIGINT');
    await server.until(/stopping/);
    assert.equal(await server.exited, 0);
    const out = server.out();
    assert.match(out, /steward: stopping/);
    assert.match(out, /1 running task/);
    assert.match(out, /runs? again on the next start/);
    assert.match(out, /stopped/);
  });

  it('stops cleanly on a SIGTERM that comes while it is still starting', async () => {
    const dataDir = tempDir();
    const go = join(dataDir, 'go');
    const server = start(['serve', '--data', dataDir, '--port', '0', '--config', SLOW_CONFIG], { STEWARD_TEST_GO: go });
    // The config is loading and waits for `go`: the server is provably still starting.
    await server.untilErr(/config: loading/);
    server.child.kill('SIGTERM');
    // Only once the signal has been sent may startup go on (if the process is still there).
    writeFileSync(go, '');
    assert.equal(await server.exited, 0, 'stopped by its own handler, not killed by the signal');
    assert.match(server.out(), /steward: stopping/);
    assert.equal(existsSync(join(dataDir, 'server.json')), false, 'no server file is left behind');
  });
});

/** Runs a `steward` client command to its end; its exit code and output. */
async function cli(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const run = start(args);
  const code = await run.exited;
  return { code, out: run.out(), err: run.err() };
}

const missing = redisMissing();
describe('steward serve --redis (cluster mode)', { skip: missing }, () => {
  let redis: RedisServer;
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await redis?.close();
  });

  it('serves the whole cluster: a task submitted over HTTP runs on another node, and the API, status and dashboard say which', async () => {
    const url = `redis://127.0.0.1:${redis.port}`;
    const prefix = `serve-${process.pid}-${Date.now()}`;
    const dataDir = tempDir();
    const server = start(['serve', '--data', dataDir, '--port', '0', '--redis', url, '--prefix', prefix, '--node-id', 'node-a']);
    await server.until(/steward: try /);
    assert.match(server.out(), /node node-a of the cluster at redis:\/\/127\.0\.0\.1:\d+/);
    const base = /serving (http:\/\/[^\s:]+:\d+)/.exec(server.out())?.[1] as string;
    const token = /token \(shown once; also in .*token\): ([0-9a-f]{64})/.exec(server.out())?.[1] as string;
    const get = async <T>(path: string): Promise<T> => {
      const response = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(response.status, 200, path);
      return (await response.json()) as T;
    };
    // Node B is this process: it defines the type, node A (the server) does not.
    const b = await createRuntime({ transport: bullmqTransport({ connection: url, prefix, nodeId: 'node-b' }), tasks: { hello: { handler: async (input: { name: string }) => ({ hi: input.name }) } } });
    try {
      const response = await fetch(`${base}/api/tasks`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'hello', input: { name: 'ada' } }),
      });
      assert.equal(response.status, 201);
      const { id } = (await response.json()) as { id: string };
      // Node A hears of the end through the shared journal, once node B has run it.
      let task = await get<TaskSnapshot>(`/api/tasks/${id}`);
      while (task.status === 'queued' || task.status === 'running') {
        await new Promise((resolve) => setImmediate(resolve));
        task = await get<TaskSnapshot>(`/api/tasks/${id}`);
      }
      assert.equal(task.status, 'completed');
      assert.equal(task.node, 'node-b', 'the API says which node ran it');
      assert.deepEqual(task.result, { hi: 'ada' });
      const status = await cli(['status', '--data', dataDir]);
      assert.equal(status.code, 0, status.err);
      assert.match(status.out, /NODE/);
      assert.match(status.out, new RegExp(`${id.slice(0, 8)}\\s+hello\\s+completed.*node-b`));
      const dashboard = await get<{ recent: Array<{ id: string; node?: string }>; schedules: unknown[] }>('/api/dashboard');
      assert.equal(dashboard.recent.find((row) => row.id === id)?.node, 'node-b', 'the dashboard says which node ran it');
      assert.deepEqual(dashboard.schedules, [], 'the cluster has no schedules: none listed');
    } finally {
      await b.shutdown();
      server.child.kill('SIGTERM');
      assert.equal(await server.exited, 0);
    }
  });

  it('refuses a --redis that is not a redis:// URL, and says so when Redis cannot be reached', async () => {
    const notRedis = await cli(['serve', '--data', tempDir(), '--port', '0', '--redis', 'http://127.0.0.1:6379']);
    assert.equal(notRedis.code, 1);
    assert.match(notRedis.err, /STEWARD_INVALID_OPTIONS: .*must start with redis:\/\/ or rediss:\/\//);
    const nobody = await cli(['serve', '--data', tempDir(), '--port', '0', '--redis', `redis://127.0.0.1:${await freePort()}`]);
    assert.equal(nobody.code, 1);
    assert.match(nobody.err, /STEWARD_TRANSPORT_UNAVAILABLE: .*Redis cannot be reached/);
  });
});
