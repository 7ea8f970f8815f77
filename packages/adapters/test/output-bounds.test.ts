import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { createRuntime, type ExecutionRequest, type ExecutionSink, type ResolvedDefinition, type TaskError } from '@steward/core';
import { LineSplitter } from '../src/process/line-splitter.js';
import { processExecutor, type ProcessTaskDefinition } from '../src/index.js';
import { liveProcessesMatching } from './processes.js';

/**
 * True while `pid` sleeps in a write to a full pipe: Node gives a child's stdio a
 * socket pair, where the kernel waits in sock_alloc_send_pskb (pipe_write for a pipe).
 */
function blockedWriting(pid: number): boolean {
  try {
    return /pipe_write|sock_alloc_send|sendmsg/.test(readFileSync(`/proc/${pid}/wchan`, 'utf8'));
  } catch {
    return false;
  }
}

/** Polls (no fixed sleep) until `check` is true, up to `limitMs`. */
async function until(check: () => boolean, limitMs = 30_000): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > limitMs) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('output bounds of process tasks', () => {
  it('splits a long line into pieces of at most maxLine, wherever its newline falls', () => {
    const lines: string[] = [];
    const splitter = new LineSplitter((line) => lines.push(line), 100);
    splitter.write(Buffer.from(`${'a'.repeat(1000)}\nshort\n${'b'.repeat(250)}`));
    splitter.write(Buffer.from(`${'c'.repeat(50)}\n`));
    splitter.end();
    assert.ok(
      lines.every((line) => line.length <= 100),
      `line lengths ${lines.map((l) => l.length).join(',')}`,
    );
    assert.equal(lines.join(''), `${'a'.repeat(1000)}short${'b'.repeat(250)}${'c'.repeat(50)}`);
    assert.ok(lines.includes('short'));
  });

  it('keeps a bounded number of chunks of a flood of empty lines (each counts against the cap)', async () => {
    const rt = await createRuntime({ executors: [processExecutor()], maxOutputBytes: 64 * 1024 });
    try {
      rt.define('empty-lines', { command: process.execPath, args: ['-e', `require('fs').writeSync(1, '\\n'.repeat(200000))`] });
      const handle = await rt.submit('empty-lines');
      assert.equal((await handle.result()).status, 'completed');
      let kept = 0;
      for await (const chunk of rt.output(handle.id)) {
        assert.equal(chunk.data, '');
        kept++;
      }
      // The chunk cap that goes with 64 KiB: one chunk per 128 bytes.
      assert.equal(kept, 512, `${kept} empty lines kept under a 64 KiB cap`);
    } finally {
      await rt.shutdown({ timeoutMs: 0 });
    }
  });

  it('stops reading the pipe while the sink says output is behind, so the child blocks instead of the host growing', async () => {
    const marker = 'steward-output-bounds-flood';
    // 8 MiB in lines of 64 KiB: far more than a pipe and one read hold.
    const code = `const fs=require('fs');const b=Buffer.from('x'.repeat(65535)+'\\n');for(let i=0;i<128;i++)fs.writeSync(1,b)`;
    const definition: ProcessTaskDefinition = { command: process.execPath, args: ['-e', code, marker] };
    const executor = processExecutor();
    let behind = true;
    let release!: () => void;
    const caughtUp = new Promise<void>((resolve) => (release = resolve));
    let asked = 0;
    let received = 0;
    let ended: { result?: unknown; error?: TaskError } | undefined;
    const sink: ExecutionSink = {
      progress() {},
      output(_stream, data) {
        received += data.length + 1;
      },
      outputDrain() {
        if (!behind) return undefined;
        asked++;
        return caughtUp;
      },
      step() {},
      processStarted() {},
      rateLimit: () => Promise.resolve(),
      succeeded: (result) => (ended = { result }),
      failed: (error) => (ended = { error }),
      crashed: (error) => (ended = { error }),
    };
    const request: ExecutionRequest = {
      taskId: 't',
      type: 'flood',
      attempt: 1,
      input: undefined,
      definition: { type: 'flood', kind: 'process', source: definition } as unknown as ResolvedDefinition,
      dependencies: {},
      steps: {},
      signal: new AbortController().signal,
    };
    try {
      executor.execute(request, sink);
      let pid: number | undefined;
      // Either the child ends (nothing paused the pipe) or it sleeps in a write to the full
      // pipe after the host has read and asked the sink (on a loaded machine the pipe can
      // fill before the host's first read: that is not yet the pause under test).
      await until(() => {
        pid ??= liveProcessesMatching(marker)[0];
        return ended !== undefined || (asked > 0 && pid !== undefined && blockedWriting(pid));
      });
      assert.ok(ended === undefined, 'the child wrote all 8 MiB while the sink was behind');
      assert.ok(asked > 0);
      assert.ok(received <= 4 * 65536, `${received} bytes taken from the pipe while the sink was behind`);
      behind = false;
      release();
      await until(() => ended !== undefined);
      const outcome = ended as { result?: unknown; error?: TaskError } | undefined;
      assert.deepEqual(outcome?.error, undefined);
      assert.equal(received, 128 * 65536);
    } finally {
      await executor.close();
    }
  });
});
