import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createRuntime, isStewardError, type Runtime } from '@steward/core';
import { createHttpHost, processExecutor, type HttpHost, type ProcessResult } from '../src/index.js';
import { COMMAND_TYPE, startRuntime } from '../src/cli/serve.js';

const TOKEN = 'test-token-0123456789abcdef';

// The system's sh prints nothing for `-c true`; the impostor announces itself.
const IMPOSTOR = '#!/bin/sh\necho impostor\n';

describe('the allow list, checked against the program that would run', () => {
  let dir: string;
  let rt: Runtime;
  let host: HttpHost;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'steward-allow-'));
    writeFileSync(join(dir, 'sh'), IMPOSTOR);
    chmodSync(join(dir, 'sh'), 0o755);
    const processes = processExecutor({ allow: ['sh'] });
    rt = await createRuntime({ executors: [processes] });
    rt.define('command', {
      command: (i: { command: string }) => i.command,
      args: (i: { args?: string[] }) => i.args ?? [],
      cwd: (i: { cwd?: string }) => i.cwd,
    });
    host = await createHttpHost(rt, { token: TOKEN, port: 0, commands: { type: 'command', executor: processes } });
  });
  after(async () => {
    await host.close();
    await rt.shutdown({ timeoutMs: 0 });
    rmSync(dir, { recursive: true, force: true });
  });

  const post = async (body: unknown) => {
    const response = await fetch(`${host.url}/api/tasks`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: response.status, body: (await response.json()) as any };
  };

  it('runs the allowed name, and the same program by its absolute path', async () => {
    assert.deepEqual(await rt.run('command', { command: 'sh', args: ['-c', 'echo real'] }), { exitCode: 0, signal: null, stdoutTail: 'real\n', stderrTail: '' });
    assert.equal(((await rt.run('command', { command: '/bin/sh', args: ['-c', 'true'] })) as ProcessResult).exitCode, 0);
  });

  it('refuses another program that has the allowed name, by absolute path', async () => {
    const outcome = await (await rt.submit('command', { command: join(dir, 'sh') })).result();
    assert.equal(outcome.status, 'failed');
    assert.equal(outcome.error?.code, 'STEWARD_COMMAND_NOT_ALLOWED');
  });

  it('refuses a relative path that was not allowed as such', async () => {
    const outcome = await (await rt.submit('command', { command: './sh', cwd: dir })).result();
    assert.equal(outcome.error?.code, 'STEWARD_COMMAND_NOT_ALLOWED');
  });

  it('looks a bare name up in the PATH the task runs with', async () => {
    const local = await createRuntime({ executors: [processExecutor({ allow: ['sh'] })] });
    try {
      // A command computed from the input is checked when it runs...
      local.define('path-sh', { command: () => 'sh', args: ['-c', 'true'], env: { PATH: dir } });
      const outcome = await (await local.submit('path-sh')).result();
      assert.equal(outcome.error?.code, 'STEWARD_COMMAND_NOT_ALLOWED');
      // ...a fixed one already at define().
      assert.throws(() => local.define('fixed-path-sh', { command: 'sh', env: { PATH: dir } }), (e: unknown) => isStewardError(e, 'STEWARD_COMMAND_NOT_ALLOWED'));
      assert.throws(() => local.define('fixed', { command: join(dir, 'sh') }), (e: unknown) => isStewardError(e, 'STEWARD_COMMAND_NOT_ALLOWED'));
    } finally {
      await local.shutdown({ timeoutMs: 0 });
    }
  });

  it('answers 403 over HTTP for an impostor by path or by relative path, and runs the real one', async () => {
    const byPath = await post({ command: join(dir, 'sh') });
    assert.equal(byPath.status, 403);
    assert.equal(byPath.body.error.code, 'STEWARD_COMMAND_NOT_ALLOWED');
    const relative = await post({ command: './sh', cwd: dir });
    assert.equal(relative.status, 403);
    assert.equal(relative.body.error.code, 'STEWARD_COMMAND_NOT_ALLOWED');
    const real = await post({ command: 'sh', args: ['-c', 'true'] });
    assert.equal(real.status, 201);
    assert.equal((await rt.task(real.body.id)?.result())?.status, 'completed');
  });

  it('holds for the runtime of steward serve --allow as well', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'steward-allow-serve-'));
    const served = await startRuntime({ dataDir }, {}, ['sh']);
    try {
      const impostor = await (await served.rt.submit(COMMAND_TYPE, { command: join(dir, 'sh') })).result();
      assert.equal(impostor.error?.code, 'STEWARD_COMMAND_NOT_ALLOWED');
      const relative = await (await served.rt.submit(COMMAND_TYPE, { command: './sh', cwd: dir })).result();
      assert.equal(relative.error?.code, 'STEWARD_COMMAND_NOT_ALLOWED');
      assert.equal(served.processes.allows('sh'), true);
      assert.equal(served.processes.allows('./sh', dir), false);
    } finally {
      await served.rt.shutdown({ timeoutMs: 0 });
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('reports an allowed program that is not installed as a failure to start, not as refused', async () => {
    const local = await createRuntime({ executors: [processExecutor({ allow: ['steward-no-such-program'] })] });
    try {
      local.define('absent', { command: 'steward-no-such-program' });
      const outcome = await (await local.submit('absent')).result();
      assert.equal(outcome.error?.code, 'STEWARD_PROCESS_SPAWN');
      assert.equal(outcome.attempts, 1);
    } finally {
      await local.shutdown({ timeoutMs: 0 });
    }
  });

  it('runs a relative path that is allowed as such', async () => {
    const local = await createRuntime({ executors: [processExecutor({ allow: ['./sh'] })] });
    try {
      local.define('local-sh', { command: './sh', cwd: dir });
      assert.equal(((await local.run('local-sh')) as ProcessResult).stdoutTail, 'impostor\n');
    } finally {
      await local.shutdown({ timeoutMs: 0 });
    }
  });
});
