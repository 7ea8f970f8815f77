import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { createRuntime, type Runtime } from '@steward/core';
import { createHttpHost, type HttpHost } from '../src/index.js';

const TOKEN = 'test-token-0123456789abcdef';

describe('HTTP answers to a bad body', () => {
  let rt: Runtime;
  let host: HttpHost;

  before(async () => {
    rt = await createRuntime({});
    rt.define('echo', { handler: (input: unknown) => input });
    host = await createHttpHost(rt, { token: TOKEN, port: 0 });
  });
  after(async () => {
    await host.close();
    await rt.shutdown({ timeoutMs: 0 });
  });

  /** A real request over the socket; `body` is sent as given with `contentType`. */
  const send = async (path: string, body: string, contentType = 'application/json') => {
    const response = await fetch(`${host.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': contentType }, body });
    return { status: response.status, body: (await response.json()) as { error?: { code: string; message: string; path?: string } } };
  };
  const post = (path: string, body: unknown) => send(path, JSON.stringify(body));

  it('names an unknown top-level key as the path, in a message that reads', async () => {
    const answer = await post('/api/tasks', { type: 'echo', extra: 1 });
    assert.equal(answer.status, 400);
    assert.equal(answer.body.error?.code, 'STEWARD_INVALID_OPTIONS');
    assert.equal(answer.body.error?.path, 'extra');
    assert.match(answer.body.error?.message ?? '', /^extra: /);
  });

  it('names the type field for an unknown task type', async () => {
    const answer = await post('/api/tasks', { type: 'nope' });
    assert.equal(answer.status, 400);
    assert.equal(answer.body.error?.code, 'STEWARD_UNKNOWN_TASK_TYPE');
    assert.equal(answer.body.error?.path, 'type');
  });

  it('names an unknown nested key with its full path', async () => {
    const answer = await post('/api/tasks', { type: 'echo', options: { priority: 'high', colour: 'red' } });
    assert.equal(answer.status, 400);
    assert.equal(answer.body.error?.path, 'options.colour');
    const workflow = await post('/api/workflows', { name: 'w', bogus: true });
    assert.equal(workflow.status, 400);
    assert.equal(workflow.body.error?.path, 'bogus');
  });

  it('names options.webhook.url for a webhook that points at this machine, however it is spelled', async () => {
    for (const url of ['http://127.0.0.1:9/hook', 'http://localhost/hook', 'http://localhost./hook', 'http://LOCALHOST./hook', `http://${hostname()}/hook`, 'http://10.1.2.3/hook']) {
      const answer = await post('/api/tasks', { type: 'echo', options: { webhook: { url, secret: 's' } } });
      assert.equal(answer.status, 400, url);
      assert.equal(answer.body.error?.code, 'STEWARD_INVALID_OPTIONS', url);
      assert.equal(answer.body.error?.path, 'options.webhook.url', url);
    }
    const workflow = await post('/api/workflows', { name: 'w', webhook: { url: 'http://localhost./hook', secret: 's' } });
    assert.equal(workflow.status, 400);
    assert.equal(workflow.body.error?.path, 'workflow.webhook.url');
  });

  it('answers 415 with a clear message to a body that is not application/json', async () => {
    const before = rt.list().length;
    const plain = await send('/api/tasks', '{"type":"echo"}', 'text/plain');
    assert.equal(plain.status, 415);
    assert.equal(plain.body.error?.code, 'STEWARD_UNSUPPORTED_MEDIA_TYPE');
    assert.match(plain.body.error?.message ?? '', /application\/json/);
    assert.match(plain.body.error?.message ?? '', /text\/plain/);
    const form = await send('/api/tasks', 'type=echo', 'application/x-www-form-urlencoded');
    assert.equal(form.status, 415);
    assert.equal(rt.list().length, before, 'nothing was submitted');
    const json = await send('/api/tasks', '{"type":"echo"}', 'application/json; charset=utf-8');
    assert.equal(json.status, 201);
  });
});
