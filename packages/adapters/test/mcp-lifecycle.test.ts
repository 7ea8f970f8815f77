import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { createRuntime, type Runtime } from '@steward/core';
import { createHttpHost, type HttpHost } from '../src/index.js';
import { ensureToken, removeServerInfo, writeServerInfo } from '../src/client/data-dir.js';

const BIN = fileURLToPath(new URL('../../bin/steward.mjs', import.meta.url));

/**
 * Runs `steward mcp` on `dataDir`, waits for its ready line on stderr, closes its
 * stdin (the client went away) and resolves with how it ended and what it printed after.
 */
function closeStdinAfterReady(dataDir: string): Promise<{ code: number | null; signal: string | null; ready: string; after: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'mcp', '--data', dataDir], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    let ready = '';
    child.stdout.resume();
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
      const newline = stderr.indexOf('\n');
      if (ready === '' && newline !== -1 && stderr.startsWith('steward mcp: ready')) {
        ready = stderr.slice(0, newline + 1);
        stderr = stderr.slice(newline + 1);
        child.stdin.end();
      }
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, ready, after: stderr }));
  });
}

describe('steward mcp when its client goes away', () => {
  it('exits with code 0 and prints nothing more when stdin closes (embedded runtime)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'steward-mcp-close-'));
    try {
      const ended = await closeStdinAfterReady(dataDir);
      assert.match(ended.ready, /ready/, `never became ready; stderr: ${ended.after.slice(0, 500)}`);
      assert.equal(ended.after.slice(0, 2_000), '');
      assert.equal(ended.signal, null);
      assert.equal(ended.code, 0);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('steward mcp in front of a running server', () => {
  let dataDir: string;
  let rt: Runtime;
  let host: HttpHost;
  let client: Client;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'steward-mcp-server-'));
    rt = await createRuntime({});
    // Runs until cancelled.
    rt.define('hold', { handler: (_input, ctx) => new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true })) });
    host = await createHttpHost(rt, { token: ensureToken(dataDir).token, port: 0 });
    writeServerInfo(dataDir, { url: host.url, pid: process.pid });
    client = new Client({ name: 'steward-test', version: '1.0.0' });
    await client.connect(new StdioClientTransport({ command: process.execPath, args: [BIN, 'mcp', '--data', dataDir], stderr: 'ignore' }));
  });
  after(async () => {
    await client.close();
    removeServerInfo(dataDir);
    await host.close();
    await rt.shutdown({ timeoutMs: 0 });
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('exits with code 0 and prints nothing more when stdin closes (server backend)', async () => {
    const ended = await closeStdinAfterReady(dataDir);
    assert.match(ended.ready, /talking to http/, `not in front of the server; stderr: ${ended.after.slice(0, 500)}`);
    assert.equal(ended.after, '');
    assert.equal(ended.code, 0);
  });

  it('carries the reason of task_cancel through the HTTP API to the task', async () => {
    const submitted = (await client.callTool({ name: 'task_async', arguments: { type: 'hold' } })) as any;
    const taskId = submitted.structuredContent.taskId;
    assert.ok(rt.get(taskId), 'the task was submitted to the server, not to an embedded runtime');
    const reason = 'the user changed their mind & left';
    const cancelled = (await client.callTool({ name: 'task_cancel', arguments: { taskId, reason } })) as any;
    assert.equal(cancelled.structuredContent.cancelled, true);
    const outcome = await rt.task(taskId)?.result();
    assert.equal(outcome?.status, 'cancelled');
    assert.ok(outcome?.error?.message.includes(reason), outcome?.error?.message);
  });
});
