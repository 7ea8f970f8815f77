import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Client as McpClient } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { createRuntime, type Runtime, type ScheduleInfo } from '@steward/core';
import { createHttpHost, type HttpHost } from '../src/index.js';

const TOKEN = 'test-token-0123456789abcdef';
const BIN = fileURLToPath(new URL('../../bin/steward.mjs', import.meta.url));
const CONFIG = fileURLToPath(new URL('../../test/fixtures/schedules.config.mjs', import.meta.url));

describe('schedules over REST', () => {
  let rt: Runtime;
  let host: HttpHost;

  before(async () => {
    rt = await createRuntime({});
    rt.define('noop', { handler: async () => 'ok' });
    host = await createHttpHost(rt, { token: TOKEN, port: 0 });
  });
  after(async () => {
    await host.close();
    await rt.shutdown({ timeoutMs: 0 });
  });

  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${host.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> & { error?: { code: string; message: string; path?: string } } };
  };

  it('creates (201), replaces (200), lists, pauses, resumes and deletes (then 404)', async () => {
    const created = await call('PUT', '/api/schedules/nightly', { cron: '0 3 * * *', timezone: 'Europe/Berlin', type: 'noop' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.timezone, 'Europe/Berlin');
    assert.equal(typeof created.body.next, 'number');
    const replaced = await call('PUT', '/api/schedules/nightly', { every: 900_000, type: 'noop' });
    assert.equal(replaced.status, 200);
    assert.equal(replaced.body.every, 900_000);
    const listed = await call('GET', '/api/schedules');
    assert.deepEqual((listed.body.schedules as ScheduleInfo[]).map((s) => [s.id, s.every, s.paused]), [['nightly', 900_000, false]]);
    assert.equal((await call('POST', '/api/schedules/nightly/pause')).body.paused, true);
    assert.equal(rt.schedules()[0]?.paused, true);
    assert.equal((await call('POST', '/api/schedules/nightly/resume')).body.paused, false);
    assert.deepEqual((await call('DELETE', '/api/schedules/nightly')).body, { id: 'nightly', removed: true });
    const again = await call('DELETE', '/api/schedules/nightly');
    assert.equal(again.status, 404);
    assert.equal(again.body.error?.code, 'STEWARD_SCHEDULE_NOT_FOUND');
    assert.equal((await call('POST', '/api/schedules/nope/pause')).status, 404);
  });

  it('answers a bad cron, time zone, spec or id with 400 and the field path', async () => {
    for (const [body, path] of [
      [{ cron: '61 * * * *', type: 'noop' }, 'cron'],
      [{ cron: '0 3 * * *', timezone: 'Mars/Olympus', type: 'noop' }, 'timezone'],
      [{ every: 60_000, type: 'noop', overlap: 'sometimes' }, 'overlap'],
      [{ every: 60_000, type: 'noop', options: { priority: {} } }, 'options.priority'],
      [{ every: 60_000, type: 'noop', extra: 1 }, 'extra'],
    ] as const) {
      const answer = await call('PUT', '/api/schedules/s', body);
      assert.equal(answer.status, 400, JSON.stringify(body));
      assert.equal(answer.body.error?.code, 'STEWARD_INVALID_OPTIONS');
      assert.equal(answer.body.error?.path, path, JSON.stringify(answer.body));
    }
    const badId = await call('PUT', `/api/schedules/${encodeURIComponent('a b')}`, { every: 60_000, type: 'noop' });
    assert.equal(badId.status, 400);
    assert.equal(badId.body.error?.path, 'id');
    assert.deepEqual(rt.schedules(), []);
  });
});

/** Runs a client command; resolves with its exit code and output. */
function steward(dataDir: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, STEWARD_DATA: dataDir } }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr });
    });
  });
}

describe('schedules from the serve config, the CLI and the MCP tools', () => {
  let dataDir: string;
  let server: ChildProcess;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'steward-sched-cli-'));
    server = spawn(process.execPath, [BIN, 'serve', '--data', dataDir, '--port', '0', '--config', CONFIG], { stdio: ['ignore', 'pipe', 'inherit'] });
    server.stdout?.setEncoding('utf8');
    let banner = '';
    await new Promise<void>((resolve, reject) => {
      server.stdout?.on('data', (chunk: string) => {
        banner += chunk;
        if (/steward: try /.test(banner)) resolve();
      });
      server.once('exit', (code) => reject(new Error(`the server exited (${code}) before it was ready:\n${banner}`)));
    });
  });

  after(async () => {
    const exited = new Promise((r) => server.once('exit', r));
    server.kill('SIGTERM');
    await exited;
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('steward schedule ls shows the config schedule; add, ls and rm a schedule; rm of an unknown id fails', async () => {
    const first = await steward(dataDir, ['schedule', 'ls', '--json']);
    assert.equal(first.code, 0, first.stderr);
    const listed = JSON.parse(first.stdout) as ScheduleInfo[];
    assert.deepEqual(listed.map((s) => [s.id, s.cron, s.timezone, s.catchUp]), [['nightly', '0 3 * * *', 'Europe/Berlin', 'none']]);
    const added = await steward(dataDir, ['schedule', 'add', 'hourly', '--every', '1h', '--type', 'noop', '--input', '{"n":1}', '--catch-up', 'all']);
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, /^hourly next \d{4}-/);
    const table = await steward(dataDir, ['schedule', 'ls']);
    assert.match(table.stdout, /^ID\s+WHEN\s+TYPE\s+NEXT\s+LAST\s+STATE/);
    assert.match(table.stdout, /hourly\s+every 3600000ms\s+noop/);
    assert.match(table.stdout, /nightly\s+0 3 \* \* \* \(Europe\/Berlin\)\s+noop/);
    const bad = await steward(dataDir, ['schedule', 'add', 'x', '--cron', '0 3 * * *', '--tz', 'Mars/Olympus', '--type', 'noop']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /STEWARD_INVALID_OPTIONS: timezone/);
    const removed = await steward(dataDir, ['schedule', 'rm', 'hourly']);
    assert.equal(removed.code, 0, removed.stderr);
    const gone = await steward(dataDir, ['schedule', 'rm', 'hourly']);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /STEWARD_SCHEDULE_NOT_FOUND/);
  });

  it('MCP schedule_create, schedule_list and schedule_delete (camelCase arguments) against the server', async () => {
    const client = new McpClient({ name: 'steward-test', version: '1.0.0' });
    await client.connect(new StdioClientTransport({ command: process.execPath, args: [BIN, 'mcp', '--data', dataDir], stderr: 'ignore' }));
    type Result = { isError?: boolean; structuredContent?: Record<string, unknown>; content: Array<{ text: string }> };
    const call = async (name: string, args: Record<string, unknown>) => (await client.callTool({ name, arguments: args })) as Result;
    try {
      const created = await call('schedule_create', { scheduleId: 'weekly', cron: '0 9 * * 1', timezone: 'America/New_York', type: 'noop', overlap: 'allow' });
      assert.equal(created.isError, undefined, created.content[0]?.text);
      assert.equal(created.structuredContent?.id, 'weekly');
      assert.equal(created.structuredContent?.overlap, 'allow');
      const bad = await call('schedule_create', { scheduleId: 'bad', cron: '0 9 * * 8', type: 'noop' });
      assert.equal(bad.isError, true);
      assert.equal(bad.structuredContent?.code, 'STEWARD_INVALID_OPTIONS');
      assert.match(String(bad.structuredContent?.message), /cron/);
      const list = await call('schedule_list', {});
      assert.deepEqual((list.structuredContent?.schedules as ScheduleInfo[]).map((s) => s.id), ['nightly', 'weekly']);
      const deleted = await call('schedule_delete', { scheduleId: 'weekly' });
      assert.deepEqual(deleted.structuredContent, { id: 'weekly', removed: true });
      const missing = await call('schedule_delete', { scheduleId: 'weekly' });
      assert.equal(missing.structuredContent?.code, 'STEWARD_SCHEDULE_NOT_FOUND');
    } finally {
      await client.close();
    }
  });
});
