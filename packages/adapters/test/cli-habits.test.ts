// The CLI's manners: short ids as `steward status` prints them, --version, a typo
// answered with a suggestion (not the whole help), and a hint that names the way to
// start a server.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/steward.mjs', import.meta.url));
const PACKAGE = fileURLToPath(new URL('../../package.json', import.meta.url));

function steward(dataDir: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, STEWARD_DATA: dataDir } }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr });
    });
  });
}

describe('the steward CLI habits', () => {
  let dataDir: string;
  let server: ChildProcess;
  let url = '';
  let token = '';
  const submit = async (): Promise<string> => {
    const response = await fetch(`${url}/api/tasks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ command: 'echo', args: ['hi'] }),
    });
    assert.equal(response.status, 201);
    return ((await response.json()) as { id: string }).id;
  };

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'steward-habits-'));
    server = spawn(process.execPath, [BIN, 'serve', '--data', dataDir, '--port', '0', '--allow', 'echo'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let banner = '';
    server.stdout?.setEncoding('utf8');
    await new Promise<void>((resolve, reject) => {
      server.stdout?.on('data', (chunk: string) => {
        banner += chunk;
        if (/steward: try /.test(banner)) resolve();
      });
      server.once('exit', () => reject(new Error(`the server exited:\n${banner}`)));
    });
    url = /serving (http:\/\/\S+)/.exec(banner)?.[1] as string;
    token = /: ([0-9a-f]{64})\n/.exec(banner)?.[1] as string;
  });

  after(async () => {
    const exited = new Promise((r) => server.once('exit', r));
    server.kill('SIGTERM');
    await exited;
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('takes any unique prefix of an id, as the status table prints it', async () => {
    const id = await submit();
    const waited = await steward(dataDir, ['wait', id.slice(0, 8), '--json']);
    assert.equal(waited.code, 0, waited.stderr);
    assert.equal(JSON.parse(waited.stdout).id, id);
    const status = await steward(dataDir, ['status', id.slice(0, 8), '--json']);
    assert.equal(status.code, 0, status.stderr);
    assert.equal(JSON.parse(status.stdout).id, id);
    const logs = await steward(dataDir, ['logs', id.slice(0, 6)]);
    assert.equal(logs.code, 0, logs.stderr);
    assert.equal(logs.stdout.trim(), 'hi');
    const cancelled = await steward(dataDir, ['cancel', id.slice(0, 10)]);
    assert.equal(cancelled.code, 1, 'nothing left to cancel');
    assert.match(cancelled.stdout, new RegExp(`^${id} completed`), 'the answer names the whole id');
  });

  it('refuses an ambiguous prefix and lists the candidates', async () => {
    // Seventeen ids over sixteen hex digits: two share a first digit.
    const ids = new Map<string, string[]>();
    let shared: string[] | undefined;
    while (shared === undefined) {
      const id = await submit();
      const list = [...(ids.get(id[0] as string) ?? []), id];
      ids.set(id[0] as string, list);
      if (list.length === 2) shared = list;
    }
    const prefix = (shared[0] as string)[0] as string;
    const answer = await steward(dataDir, ['status', prefix]);
    assert.equal(answer.code, 1);
    assert.match(answer.stderr, /STEWARD_AMBIGUOUS_ID/);
    for (const id of shared) assert.ok(answer.stderr.includes(id), `the candidate ${id} is listed`);
    const none = await steward(dataDir, ['status', 'zzzz']);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /STEWARD_TASK_NOT_FOUND/);
  });

  it('says in --help that a prefix will do', async () => {
    for (const command of ['status', 'logs', 'wait', 'cancel', 'retry']) {
      const help = await steward(dataDir, [command, '--help']);
      assert.equal(help.code, 0);
      assert.match(help.stdout, /unique prefix/, `${command} --help mentions prefixes`);
    }
  });

  it('prints its version', async () => {
    const version = (JSON.parse(readFileSync(PACKAGE, 'utf8')) as { version: string }).version;
    const answer = await steward(dataDir, ['--version']);
    assert.equal(answer.code, 0);
    assert.equal(answer.stdout.trim(), version);
  });

  it('answers a typo with the suggestion, not the whole help', async () => {
    const answer = await steward(dataDir, ['stauts']);
    assert.equal(answer.code, 1);
    assert.match(answer.stderr, /Did you mean status\?/);
    assert.doesNotMatch(answer.stderr, /Commands:/);
    assert.match(answer.stderr, /steward --help/);
  });

  it('with no server, names the way to start one', async () => {
    const answer = await steward(join(dataDir, 'elsewhere'), ['status']);
    assert.equal(answer.code, 3);
    assert.match(answer.stderr, /npm start/);
    assert.match(answer.stderr, /steward serve --data \S+elsewhere/);
  });
});
