// The approval example end to end, through the real CLI and a real server process:
// the task drafts and waits for a person; the server is killed with SIGKILL in the
// middle of the wait and started again on the same data directory; `steward signal`
// then approves, and the task finishes with the draft it wrote before the kill.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../packages/adapters/bin/steward.mjs', import.meta.url));
const CONFIG = fileURLToPath(new URL('../../examples/approval/steward.config.mjs', import.meta.url));

interface Snapshot {
  id: string;
  status: string;
  attempts: number;
  waitingFor?: { kind: string; name: string; until?: number };
  result?: { published: boolean; by?: string; draft: string };
}

/** Runs a client command; resolves with its exit code and output. */
function steward(dataDir: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, STEWARD_DATA: dataDir } }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr });
    });
  });
}

/** Starts `steward serve` on `dataDir` with the example's config; resolves once it serves. */
async function serve(dataDir: string): Promise<ChildProcess> {
  const server = spawn(process.execPath, [BIN, 'serve', '--data', dataDir, '--port', '0', '--config', CONFIG], { stdio: ['ignore', 'pipe', 'inherit'] });
  server.stdout?.setEncoding('utf8');
  let banner = '';
  await new Promise<void>((resolve, reject) => {
    server.stdout?.on('data', (chunk: string) => {
      banner += chunk;
      if (/steward: try /.test(banner)) resolve();
    });
    server.once('exit', (code) => reject(new Error(`the server exited (${code}) before it was ready:\n${banner}`)));
  });
  return server;
}

async function status(dataDir: string, id: string): Promise<Snapshot> {
  const answer = await steward(dataDir, ['status', id, '--json']);
  assert.equal(answer.code, 0, answer.stderr);
  return JSON.parse(answer.stdout) as Snapshot;
}

/** Asks for the task's status until it waits for a signal (each answer is a round trip to the server). */
async function untilWaiting(dataDir: string, id: string): Promise<Snapshot> {
  for (;;) {
    const task = await status(dataDir, id);
    if (task.waitingFor !== undefined) return task;
    assert.ok(task.status === 'queued' || task.status === 'running', `the task drafts and waits, it does not end: ${JSON.stringify(task)}`);
  }
}

describe('the approval example', () => {
  it('drafts, waits for a person across a SIGKILL of the server, and publishes once `steward signal` approves', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'steward-approval-'));
    let server = await serve(dataDir);
    try {
      const added = await steward(dataDir, ['add', '--type', 'draft-announcement', '--input', '{"topic":"Steward 1.0"}']);
      assert.equal(added.code, 0, added.stderr);
      const id = added.stdout.trim();
      const waiting = await untilWaiting(dataDir, id);
      assert.equal(waiting.status, 'waiting');
      assert.deepEqual(waiting.waitingFor?.name, 'approval');
      assert.equal(waiting.waitingFor?.kind, 'signal');
      const logs = await steward(dataDir, ['logs', id]);
      assert.match(logs.stdout, /steward signal .* approval/);

      // The host dies in the middle of the wait.
      const killed = new Promise((resolve) => server.once('exit', resolve));
      server.kill('SIGKILL');
      await killed;
      server = await serve(dataDir);

      const after = await status(dataDir, id);
      assert.equal(after.status, 'waiting', 'the wait survived the kill');
      assert.deepEqual(after.waitingFor, waiting.waitingFor);
      const signalled = await steward(dataDir, ['signal', id.slice(0, 8), 'approval', '{"approved":true,"by":"ana"}']);
      assert.equal(signalled.code, 0, signalled.stderr);
      assert.match(signalled.stdout, /signal "approval" delivered; the task is (queued|running|completed)/);
      const waited = await steward(dataDir, ['wait', id, '--json']);
      assert.equal(waited.code, 0, waited.stdout + waited.stderr);
      const done = JSON.parse(waited.stdout) as Snapshot;
      assert.equal(done.status, 'completed');
      assert.equal(done.result?.published, true);
      assert.equal(done.result?.by, 'ana');
      assert.match(done.result?.draft ?? '', /^# Steward 1\.0/);
      const again = await steward(dataDir, ['signal', id, 'approval', 'true']);
      assert.equal(again.code, 1);
      assert.match(again.stderr, /STEWARD_INVALID_STATE/);
    } finally {
      const exited = new Promise((resolve) => server.once('exit', resolve));
      server.kill('SIGTERM');
      await exited;
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
