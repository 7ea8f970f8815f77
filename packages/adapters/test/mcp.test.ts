import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const BIN = fileURLToPath(new URL('../../bin/steward.mjs', import.meta.url));
const CONFIG = fileURLToPath(new URL('../../test/fixtures/mcp.config.mjs', import.meta.url));

type Result = { isError?: boolean; structuredContent?: any; content: Array<{ type: string; text?: string }> };

describe('steward mcp, driven by the MCP SDK client over stdio', () => {
  let dataDir: string;
  let client: Client;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'steward-mcp-'));
    client = new Client({ name: 'steward-test', version: '1.0.0' });
    await client.connect(new StdioClientTransport({ command: process.execPath, args: [BIN, 'mcp', '--data', dataDir, '--config', CONFIG], stderr: 'ignore' }));
  });
  after(async () => {
    await client.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const call = async (name: string, args: Record<string, unknown>): Promise<Result> => (await client.callTool({ name, arguments: args })) as Result;

  it('lists the tools of API.md with their input schemas', async () => {
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), [
      'list_tasks', 'schedule_create', 'schedule_delete', 'schedule_list', 'task_async', 'task_cancel', 'task_logs', 'task_result', 'task_signal', 'task_status',
      'workflow_add_phase', 'workflow_add_task', 'workflow_create', 'workflow_start', 'workflow_status',
    ]);
    const taskAsync = tools.find((t) => t.name === 'task_async');
    assert.ok(JSON.stringify(taskAsync?.inputSchema).includes('priority'), 'options come from the library schema');
  });

  it('starts a workflow, polls its status to completion and reads a task’s logs', async () => {
    const created = await call('workflow_create', { name: 'hash then join' });
    assert.equal(created.isError, undefined);
    const workflowId = created.structuredContent.id as string;
    await call('workflow_add_phase', { workflowId, id: 'hash' });
    await call('workflow_add_task', { workflowId, phaseId: 'hash', id: 'a', type: 'hash', input: { text: 'alpha' } });
    await call('workflow_add_task', { workflowId, phaseId: 'hash', id: 'b', type: 'hash', input: { text: 'beta' } });
    await call('workflow_add_phase', { workflowId, id: 'join', dependsOn: ['hash'], tasks: [{ id: 'j', type: 'join' }] });
    const started = await call('workflow_start', { workflowId });
    assert.equal(started.structuredContent.status, 'running');
    let status = started.structuredContent;
    for (let i = 0; i < 200 && status.status === 'running'; i++) {
      await new Promise((r) => setTimeout(r, 25));
      status = (await call('workflow_status', { workflowId })).structuredContent;
    }
    assert.equal(status.status, 'completed');
    assert.deepEqual(status.phases.map((p: { id: string; completed: number; total: number }) => [p.id, p.completed, p.total]), [['hash', 2, 2], ['join', 1, 1]]);
    const logs = await call('task_logs', { taskId: status.tasks.j });
    assert.deepEqual(logs.structuredContent.lines, [`log: joined a=${'8ed3f6ad'}, b=${'f44e64e7'}`]);
    const result = await call('task_result', { taskId: status.tasks.j });
    assert.deepEqual(result.structuredContent.result, ['a=8ed3f6ad', 'b=f44e64e7']);
  });

  it('submits, waits for, lists and cancels tasks', async () => {
    const submitted = await call('task_async', { type: 'hash', input: { text: 'x' }, options: { priority: 'high' } });
    const taskId = submitted.structuredContent.taskId as string;
    const outcome = await call('task_result', { taskId, waitMs: 5_000 });
    assert.equal(outcome.structuredContent.status, 'completed');
    const listed = await call('list_tasks', { type: 'hash', limit: 10 });
    assert.ok(listed.structuredContent.tasks.some((t: { id: string }) => t.id === taskId));
    const cancelled = await call('task_cancel', { taskId });
    assert.deepEqual(cancelled.structuredContent, { cancelled: false, status: 'completed' });
  });

  it('returns tool errors that carry the StewardError code', async () => {
    const unknownType = await call('task_async', { type: 'nope' });
    assert.equal(unknownType.isError, true);
    assert.equal(unknownType.structuredContent.code, 'STEWARD_UNKNOWN_TASK_TYPE');
    const badOption = await call('task_async', { type: 'hash', options: { priority: 'urgent' } });
    assert.equal(badOption.structuredContent.code, 'STEWARD_INVALID_OPTIONS');
    const badSchema = await call('task_async', { type: 'hash', options: { timeoutMs: -5 } });
    assert.equal(badSchema.isError, true);
    assert.match(badSchema.content[0]?.text ?? '', /^STEWARD_INVALID_OPTIONS/);
    const missing = await call('task_status', { taskId: 'missing' });
    assert.equal(missing.structuredContent.code, 'STEWARD_TASK_NOT_FOUND');
    const noWorkflow = await call('workflow_status', { workflowId: 'missing' });
    assert.equal(noWorkflow.structuredContent.code, 'STEWARD_WORKFLOW_NOT_FOUND');
  });
});
