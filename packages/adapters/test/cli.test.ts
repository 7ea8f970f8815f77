import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { liveProcessesMatching } from './processes.js';

const BIN = fileURLToPath(new URL('../../bin/steward.mjs', import.meta.url));

/** Runs a client command; resolves with its exit code and output. */
function steward(dataDir: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, STEWARD_DATA: dataDir } }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr });
    });
  });
}

describe('the steward CLI against a served runtime', () => {
  let dataDir: string;
  let server: ChildProcess;
  let banner = '';

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'steward-cli-'));
    server = spawn(process.execPath, [BIN, 'serve', '--data', dataDir, '--port', '0', '--allow', 'sh,echo'], { stdio: ['ignore', 'pipe', 'inherit'] });
    server.stdout?.setEncoding('utf8');
    // Ready once the last startup line is out (server.json is written after it).
    await new Promise<void>((resolve, reject) => {
      server.stdout?.on('data', (chunk: string) => {
        banner += chunk;
        if (/steward: try /.test(banner)) resolve();
      });
      server.once('exit', (code) => reject(new Error(`the server exited (${code}) before it was ready:\n${banner}`)));
    });
    assert.ok(existsSync(join(dataDir, 'server.json')), 'server.json is there once the banner is printed');
  });

  after(async () => {
    const exited = new Promise((r) => server.once('exit', r));
    server.kill('SIGTERM');
    await exited;
    assert.equal(existsSync(join(dataDir, 'server.json')), false, 'the server file goes with the server');
    rmSync(dataDir, { recursive: true, force: true });
    assert.deepEqual(liveProcessesMatching('steward-cli-'), [], 'no process of the suite is left');
  });

  it('prints the URL and the token once, and keeps the token in a 0600 file', () => {
    assert.match(banner, /serving http:\/\/127\.0\.0\.1:\d+/);
    assert.match(banner, /token \(shown once; also in .*token\): [0-9a-f]{64}/);
    assert.equal(statSync(join(dataDir, 'token')).mode & 0o777, 0o600);
  });

  it('adds a command, follows its logs and waits for it', async () => {
    const added = await steward(dataDir, ['add', '--', 'sh', '-c', 'for i in 1 2 3; do echo $i; sleep 0.2; done']);
    assert.equal(added.code, 0, added.stderr);
    const id = added.stdout.trim();
    assert.match(id, /^[0-9a-f-]{36}$/);
    const logs = await steward(dataDir, ['logs', '-f', id]);
    assert.equal(logs.code, 0, logs.stderr);
    assert.deepEqual(logs.stdout.trim().split('\n'), ['1', '2', '3']);
    const waited = await steward(dataDir, ['wait', id, '--json']);
    assert.equal(waited.code, 0);
    assert.equal(JSON.parse(waited.stdout).status, 'completed');
    const status = await steward(dataDir, ['status']);
    assert.match(status.stdout, /ID\s+TYPE\s+STATUS/);
    assert.match(status.stdout, new RegExp(`${id.slice(0, 8)}\\s+command\\s+completed`));
    const one = await steward(dataDir, ['status', id, '--json']);
    assert.equal(JSON.parse(one.stdout).result.stdoutTail, '1\n2\n3\n');
  });

  it('exits non-zero when the task fails, and for refused input', async () => {
    const failing = await steward(dataDir, ['add', '--', 'sh', '-c', 'exit 3']);
    const waited = await steward(dataDir, ['wait', failing.stdout.trim()]);
    assert.equal(waited.code, 1);
    assert.match(waited.stdout, /failed \(STEWARD_PROCESS_EXIT/);
    const refused = await steward(dataDir, ['add', '--', 'rm', '-rf', '/tmp/nothing']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /STEWARD_COMMAND_NOT_ALLOWED/);
    const missing = await steward(dataDir, ['status', 'no-such-task']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /STEWARD_TASK_NOT_FOUND/);
    const noServer = await steward(join(dataDir, 'elsewhere'), ['status']);
    assert.equal(noServer.code, 3);
  });

  it('cancels and retries', async () => {
    const added = await steward(dataDir, ['add', '--timeout', '30s', '--', 'sh', '-c', 'sleep 30']);
    const id = added.stdout.trim();
    const cancelled = await steward(dataDir, ['cancel', id, '--json']);
    assert.equal(cancelled.code, 0);
    assert.deepEqual(JSON.parse(cancelled.stdout), { cancelled: true, status: 'cancelled' });
    const again = await steward(dataDir, ['cancel', id]);
    assert.equal(again.code, 1, 'nothing left to cancel');
    const retried = await steward(dataDir, ['retry', id]);
    assert.equal(retried.code, 0);
    assert.equal((await steward(dataDir, ['cancel', id])).code, 0);
  });

  it('prints a report a person can read', async () => {
    const report = await steward(dataDir, ['report', '--since', '1d']);
    assert.equal(report.code, 0, report.stderr);
    assert.match(report.stdout, /^# Steward report: the last 1 day/);
    assert.match(report.stdout, /tasks ended: \d+ completed, \d+ failed/);
    assert.match(report.stdout, /\| command \|/);
    assert.match(report.stdout, /`STEWARD_PROCESS_EXIT`/);
    const json = await steward(dataDir, ['report', '--since', '7d', '--json']);
    assert.ok(JSON.parse(json.stdout).totals.ended >= 2);
  });
});
