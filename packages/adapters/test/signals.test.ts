import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client as McpClient } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { createRuntime, type Runtime, type TaskContext, type TaskSnapshot } from '@steward/core';
import { createHttpHost, type HttpHost } from '../src/index.js';
import { embeddedBackend } from '../src/mcp/backend.js';
import { createMcpServer } from '../src/mcp/mcp-server.js';

const TOKEN = 'test-token-0123456789abcdef';

/** Waits for an approval and returns it. */
const review = async (_input: unknown, ctx: TaskContext) => ({ decision: await ctx.waitForSignal('approval') });

/** Resolves once task `id` is suspended on a wait (looked at after each event). */
function suspended(rt: Runtime, id: string): Promise<void> {
  return new Promise((resolve) => {
    const check = () => rt.get(id)?.waitingFor !== undefined;
    if (check()) return resolve();
    const subscription = rt.events$.subscribe(() => {
      if (!check()) return;
      subscription.unsubscribe();
      resolve();
    });
  });
}

describe('signals over REST and MCP', () => {
  let rt: Runtime;
  let host: HttpHost;

  before(async () => {
    rt = await createRuntime({});
    rt.define('review', { handler: review });
    rt.define('echo', { handler: (input: unknown) => input });
    host = await createHttpHost(rt, { token: TOKEN, port: 0 });
  });
  after(async () => {
    await host.close();
    await rt.shutdown({ timeoutMs: 0 });
  });

  const request = async (method: string, path: string, body?: string) => {
    const response = await fetch(`${host.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body }),
    });
    return { status: response.status, body: (await response.json()) as any };
  };

  it('lists a waiting task with what it waits for, and POST /api/tasks/:id/signals/:name delivers the JSON body', async () => {
    const handle = await rt.submit('review');
    await suspended(rt, handle.id);
    const listed = await request('GET', '/api/tasks?status=waiting');
    const shown = (listed.body.tasks as TaskSnapshot[]).find((t) => t.id === handle.id);
    assert.deepEqual(shown?.waitingFor, { kind: 'signal', name: 'approval' });
    const sent = await request('POST', `/api/tasks/${handle.id}/signals/approval`, JSON.stringify({ approved: true, by: 'ana' }));
    assert.equal(sent.status, 200);
    assert.deepEqual(sent.body, { delivered: true, taskStatus: 'queued' });
    assert.deepEqual((await handle.result()).result, { decision: { approved: true, by: 'ana' } });
  });

  it('answers 404 for an unknown task, 409 for an ended one and 400 with the field for a bad name', async () => {
    const unknown = await request('POST', '/api/tasks/nope/signals/approval', 'true');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, 'STEWARD_TASK_NOT_FOUND');
    const ended = await rt.submit('echo', 1);
    await ended.result();
    const late = await request('POST', `/api/tasks/${ended.id}/signals/approval`, 'true');
    assert.equal(late.status, 409);
    assert.equal(late.body.error.code, 'STEWARD_INVALID_STATE');
    const waiting = await rt.submit('review');
    const tooLong = await request('POST', `/api/tasks/${waiting.id}/signals/line%0Abreak`, 'true');
    assert.equal(tooLong.status, 400);
    assert.equal(tooLong.body.error.code, 'STEWARD_INVALID_OPTIONS');
    assert.equal(tooLong.body.error.path, 'name');
    const badJson = await request('POST', `/api/tasks/${waiting.id}/signals/approval`, '{nope');
    assert.equal(badJson.status, 400);
    assert.equal(badJson.body.error.code, 'STEWARD_INVALID_JSON');
    // No body: a signal without a payload.
    await suspended(rt, waiting.id);
    assert.deepEqual((await request('POST', `/api/tasks/${waiting.id}/signals/approval`)).body, { delivered: true, taskStatus: 'queued' });
    assert.equal(((await waiting.result()).result as { decision?: unknown }).decision, undefined);
  });

  it('the MCP tool task_signal { taskId, name, payload } delivers the payload, and refuses an ended task with its code', async () => {
    const server = createMcpServer(embeddedBackend(rt));
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await server.connect(serverSide);
    const client = new McpClient({ name: 'steward-test', version: '1.0.0' });
    await client.connect(clientSide);
    try {
      const handle = await rt.submit('review');
      await suspended(rt, handle.id);
      const answer = (await client.callTool({ name: 'task_signal', arguments: { taskId: handle.id, name: 'approval', payload: 'ship it' } })) as any;
      assert.equal(answer.isError, undefined);
      assert.deepEqual(answer.structuredContent, { delivered: true, taskStatus: 'queued' });
      assert.deepEqual((await handle.result()).result, { decision: 'ship it' });
      const refused = (await client.callTool({ name: 'task_signal', arguments: { taskId: handle.id, name: 'approval', payload: 1 } })) as any;
      assert.equal(refused.isError, true);
      assert.match(JSON.stringify(refused.content), /STEWARD_INVALID_STATE/);
    } finally {
      await client.close();
    }
  });
});
