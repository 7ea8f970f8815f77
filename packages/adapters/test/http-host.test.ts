import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { createRuntime, type Runtime } from '@steward/core';
import { createHttpHost, processExecutor, type HttpHost } from '../src/index.js';

const TOKEN = 'test-token-0123456789abcdef';

interface Answer {
  status: number;
  body: any;
  headers: Record<string, string | string[] | undefined>;
}

/** A real request over the socket, with full control of the headers (Host included). */
function call(host: HttpHost, method: string, path: string, options: { body?: unknown; raw?: string; headers?: Record<string, string>; token?: string | null } = {}): Promise<Answer> {
  const url = new URL(path, host.url);
  const payload = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  const headers: Record<string, string> = {
    ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
    ...(options.token === null ? {} : { authorization: `Bearer ${options.token ?? TOKEN}` }),
    ...options.headers,
  };
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => {
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // text answers (metrics) stay text
        }
        resolve({ status: res.statusCode ?? 0, body, headers: res.headers });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

describe('the HTTP host', () => {
  let rt: Runtime;
  let host: HttpHost;
  let release: () => void = () => undefined;

  before(async () => {
    rt = await createRuntime({ concurrency: 2, maxQueue: 50, executors: [processExecutor({ allow: ['echo'] })] });
    rt.define('echo', { handler: (input: unknown, ctx) => { ctx.log('hello from echo'); return input; } });
    rt.define('fails', { handler: () => { throw new Error('no'); } });
    rt.define('hold', { handler: () => new Promise<void>((r) => (release = r)) });
    rt.define('command', { command: (i: { command: string }) => i.command, args: (i: { args: string[] }) => i.args });
    host = await createHttpHost(rt, { token: TOKEN, port: 0, bodyLimitBytes: 64 * 1024, commands: { type: 'command', executor: processExecutor({ allow: ['echo'] }) } });
  });
  after(async () => {
    release();
    await host.close();
    await rt.shutdown({ timeoutMs: 0 });
  });

  it('creates, reads, lists, cancels and retries tasks', async () => {
    const created = await call(host, 'POST', '/api/tasks', { body: { type: 'echo', input: { n: 1 }, options: { priority: 'high', metadata: { by: 'test' } } } });
    assert.equal(created.status, 201);
    assert.equal(created.body.type, 'echo');
    assert.equal(created.body.priority, 4);
    await rt.task(created.body.id)!.result();
    const read = await call(host, 'GET', `/api/tasks/${created.body.id}`);
    assert.deepEqual([read.status, read.body.status, read.body.result], [200, 'completed', { n: 1 }]);
    const list = await call(host, 'GET', '/api/tasks?status=completed&type=echo&limit=5');
    assert.equal(list.status, 200);
    assert.ok(list.body.tasks.some((t: { id: string }) => t.id === created.body.id));
    const logs = await call(host, 'GET', `/api/tasks/${created.body.id}/logs`);
    assert.deepEqual(logs.body.chunks.map((c: { data: string }) => c.data), ['hello from echo']);

    const failing = await call(host, 'POST', '/api/tasks', { body: { type: 'fails' } });
    await rt.task(failing.body.id)!.result();
    const retried = await call(host, 'POST', `/api/tasks/${failing.body.id}/retry`);
    assert.equal(retried.status, 200);

    const held = await call(host, 'POST', '/api/tasks', { body: { type: 'hold' } });
    const conflict = await call(host, 'POST', `/api/tasks/${held.body.id}/retry`);
    assert.deepEqual([conflict.status, conflict.body.error.code], [409, 'STEWARD_INVALID_STATE']);
    const cancelled = await call(host, 'DELETE', `/api/tasks/${held.body.id}`);
    assert.deepEqual([cancelled.status, cancelled.body.cancelled], [200, true]);
  });

  it('follows a task’s logs as newline-delimited JSON until it ends', async () => {
    const created = await call(host, 'POST', '/api/tasks', { body: { type: 'echo', input: 1 } });
    const followed = await call(host, 'GET', `/api/tasks/${created.body.id}/logs?follow=1`);
    const lines = String(followed.body).trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(followed.headers['content-type'], 'application/x-ndjson');
    assert.deepEqual(lines.at(-1), { end: true, status: 'completed' });
    assert.equal(lines[0].data, 'hello from echo');
  });

  it('answers bad input with 4xx, the StewardError code and the path of the bad field', async () => {
    const cases: Array<[string, string, { body?: unknown; raw?: string }, number, string, string?]> = [
      ['POST', '/api/tasks', { body: { type: 'nope' } }, 400, 'STEWARD_UNKNOWN_TASK_TYPE'],
      ['POST', '/api/tasks', { body: { type: 'echo', options: { priority: 'urgent' } } }, 400, 'STEWARD_INVALID_OPTIONS', 'options.priority'],
      ['POST', '/api/tasks', { body: { type: 'echo', options: { retries: { attempts: -1 } } } }, 400, 'STEWARD_INVALID_OPTIONS', 'options.retries.attempts'],
      ['POST', '/api/tasks', { body: { type: 'echo', extra: 1 } }, 400, 'STEWARD_INVALID_OPTIONS'],
      ['POST', '/api/tasks', { raw: '{not json' }, 400, 'STEWARD_INVALID_JSON'],
      ['POST', '/api/tasks', { body: { type: 'echo', input: 'x'.repeat(100_000) } }, 413, 'STEWARD_PAYLOAD_TOO_LARGE'],
      ['POST', '/api/tasks', { body: { command: 'rm', args: ['-rf', '/'] } }, 403, 'STEWARD_COMMAND_NOT_ALLOWED', 'command'],
      ['POST', '/api/tasks', { body: { type: 'command', input: { command: 'rm' } } }, 403, 'STEWARD_COMMAND_NOT_ALLOWED', 'type'],
      ['GET', '/api/tasks?status=bogus', {}, 400, 'STEWARD_INVALID_OPTIONS', 'query.status'],
      ['GET', '/api/tasks?limit=-1', {}, 400, 'STEWARD_INVALID_OPTIONS', 'query.limit'],
      ['GET', '/api/tasks/missing', {}, 404, 'STEWARD_TASK_NOT_FOUND'],
      ['DELETE', '/api/tasks/missing', {}, 404, 'STEWARD_TASK_NOT_FOUND'],
      ['POST', '/api/tasks/missing/retry', {}, 404, 'STEWARD_TASK_NOT_FOUND'],
      ['GET', '/api/tasks/missing/logs', {}, 404, 'STEWARD_TASK_NOT_FOUND'],
      ['GET', '/api/webhooks/missing/history', {}, 404, 'STEWARD_TASK_NOT_FOUND'],
      ['GET', '/api/workflows/missing', {}, 404, 'STEWARD_WORKFLOW_NOT_FOUND'],
      ['POST', '/api/workflows', { body: { name: '' } }, 400, 'STEWARD_INVALID_OPTIONS'],
      ['GET', '/api/nowhere', {}, 404, 'STEWARD_NOT_FOUND'],
    ];
    for (const [method, path, options, status, code, errorPath] of cases) {
      const answer = await call(host, method, path, options);
      assert.equal(answer.status, status, `${method} ${path} ${JSON.stringify(answer.body)}`);
      assert.equal(answer.body.error.code, code, `${method} ${path}`);
      if (errorPath !== undefined) assert.equal(answer.body.error.path, errorPath, `${method} ${path} path`);
    }
  });

  it('runs a command from the allow list sent over HTTP', async () => {
    const created = await call(host, 'POST', '/api/tasks', { body: { command: 'echo', args: ['over', 'http'] } });
    assert.equal(created.status, 201);
    const outcome = await rt.task(created.body.id)!.result();
    assert.equal((outcome.result as { stdoutTail: string }).stdoutTail, 'over http\n');
  });

  it('answers a full queue with 429 and nothing is half-applied', async () => {
    const busy = await createRuntime({ concurrency: 1, maxQueue: 1 });
    let open = () => undefined as void;
    busy.define('hold', { handler: () => new Promise<void>((r) => (open = r)) });
    const small = await createHttpHost(busy, { token: TOKEN, port: 0 });
    try {
      await call(small, 'POST', '/api/tasks', { body: { type: 'hold' } });
      await new Promise((r) => setTimeout(r, 10));
      await call(small, 'POST', '/api/tasks', { body: { type: 'hold' } });
      const full = await call(small, 'POST', '/api/tasks', { body: { type: 'hold' } });
      assert.deepEqual([full.status, full.body.error.code], [429, 'STEWARD_QUEUE_FULL']);
      assert.equal(busy.list().length, 2);
    } finally {
      open();
      await small.close();
      await busy.shutdown({ timeoutMs: 0 });
    }
  });

  it('builds and runs workflows, in one call and step by step', async () => {
    const whole = await call(host, 'POST', '/api/workflows', { body: { name: 'one call', phases: [{ id: 'a', tasks: [{ id: 't1', type: 'echo', input: 1 }] }, { id: 'b', dependsOn: ['a'], tasks: [{ id: 't2', type: 'echo', input: 2 }] }] } });
    assert.equal(whole.status, 201);
    assert.equal((await rt.getWorkflow(whole.body.id)!.result()).status, 'completed');
    const created = await call(host, 'POST', '/api/workflows', { body: { name: 'step by step' } });
    assert.deepEqual([created.status, created.body.status], [201, 'pending']);
    const id = created.body.id;
    assert.equal((await call(host, 'POST', `/api/workflows/${id}/phases`, { body: { id: 'first' } })).status, 201);
    const badPhase = await call(host, 'POST', `/api/workflows/${id}/phases`, { body: { id: 'second', dependsOn: ['nope'] } });
    assert.deepEqual([badPhase.status, badPhase.body.error.code], [400, 'STEWARD_INVALID_OPTIONS']);
    assert.equal((await call(host, 'POST', `/api/workflows/${id}/tasks`, { body: { phaseId: 'first', id: 'x', type: 'echo', input: 'x' } })).status, 201);
    const badTask = await call(host, 'POST', `/api/workflows/${id}/tasks`, { body: { phaseId: 'nope', id: 'y', type: 'echo' } });
    assert.equal(badTask.status, 400);
    const started = await call(host, 'POST', `/api/workflows/${id}/start`);
    assert.equal(started.status, 200);
    await rt.getWorkflow(id)!.result();
    const status = await call(host, 'GET', `/api/workflows/${id}/status`);
    assert.deepEqual([status.body.status, status.body.progress], ['completed', 100]);
    const tasks = await call(host, 'GET', `/api/workflows/${id}/tasks`);
    assert.equal(tasks.body.tasks.length, 1);
    const again = await call(host, 'POST', `/api/workflows/${id}/start`);
    assert.deepEqual([again.status, again.body.error.code], [409, 'STEWARD_INVALID_STATE']);
  });

  it('serves /health and /metrics without the token, and /api only with it', async () => {
    assert.equal((await call(host, 'GET', '/health', { token: null })).status, 200);
    const metrics = await call(host, 'GET', '/metrics', { token: null });
    assert.equal(metrics.status, 200);
    assert.match(String(metrics.body), /steward_tasks_ended_total\{status="completed",type="echo"\} \d+/);
    assert.match(String(metrics.body), /steward_task_duration_seconds_bucket/);
    const missing = await call(host, 'GET', '/api/tasks', { token: null });
    assert.deepEqual([missing.status, missing.body.error.code], [401, 'STEWARD_UNAUTHORIZED']);
    const wrong = await call(host, 'GET', '/api/tasks', { token: 'wrong-token-0123456789abcdef' });
    assert.deepEqual([wrong.status, wrong.body.error.code], [401, 'STEWARD_UNAUTHORIZED']);
  });

  it('refuses a foreign Host (DNS rebinding) and a foreign Origin', async () => {
    const rebinding = await call(host, 'GET', '/api/tasks', { headers: { host: `evil.example:${host.port}` } });
    assert.deepEqual([rebinding.status, rebinding.body.error.code], [403, 'STEWARD_FORBIDDEN']);
    const origin = await call(host, 'POST', '/api/tasks', { body: { type: 'echo' }, headers: { origin: 'http://evil.example' } });
    assert.deepEqual([origin.status, origin.body.error.code], [403, 'STEWARD_FORBIDDEN']);
    const own = await call(host, 'GET', '/api/tasks', { headers: { host: `localhost:${host.port}`, origin: `http://localhost:${host.port}` } });
    assert.equal(own.status, 200);
  });
});
