// Measures how much the host's memory grows while process tasks flood their output.
// Each shape runs in a fresh Node process (so one does not inherit another's heap):
// a runtime with the process executor runs a real child that writes the shape to
// stdout, while RSS is sampled; the figure is peak RSS minus RSS before the task,
// and, for the repeated shape, RSS after a forced GC following each task.
//
//   npx tsc -b && node scripts/output-memory.mjs            # every shape
//   node scripts/output-memory.mjs no-newlines-disk         # some shapes
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const MB = 1024 * 1024;

// What the child writes: node -e <code>, in 1 MiB writes so the child is not the bottleneck.
const GENERATORS = {
  // 100 MB of 'x' and no newline at all.
  noNewlines: `const b=Buffer.alloc(1<<20,120);for(let i=0;i<100;i++)require('fs').writeSync(1,b)`,
  // 2M lines of one character.
  oneCharLines: `const b=Buffer.from('x\\n'.repeat(1<<19));for(let i=0;i<4;i++)require('fs').writeSync(1,b)`,
  // 1M empty lines.
  emptyLines: `const b=Buffer.from('\\n'.repeat(1<<20));require('fs').writeSync(1,b)`,
  // 100k short lines ("line 12345 of the output").
  shortLines: `let s='';for(let i=0;i<100000;i++){s+='line '+i+' of the output\\n';if(s.length>1<<20){require('fs').writeSync(1,s);s=''}}require('fs').writeSync(1,s)`,
};

const SHAPES = {
  'no-newlines-memory': { generator: 'noNewlines', disk: false, runs: 1 },
  'no-newlines-disk': { generator: 'noNewlines', disk: true, runs: 1 },
  'one-char-lines-memory': { generator: 'oneCharLines', disk: false, runs: 1 },
  'empty-lines-memory': { generator: 'emptyLines', disk: false, runs: 1 },
  'short-lines-disk': { generator: 'shortLines', disk: true, runs: 1 },
  'three-tasks-memory': { generator: 'noNewlines', disk: false, runs: 3 },
};

async function child(name) {
  const shape = SHAPES[name];
  const { createRuntime } = await import('@steward/core');
  const { processExecutor } = await import('@steward/adapters');
  const dir = shape.disk ? mkdtempSync(join(tmpdir(), 'steward-output-memory-')) : undefined;
  const rt = await createRuntime({ executors: [processExecutor()], ...(dir === undefined ? {} : { dataDir: dir }) });
  try {
    rt.define('flood', { command: process.execPath, args: ['-e', GENERATORS[shape.generator]] });
    globalThis.gc();
    const base = process.memoryUsage().rss;
    const runs = [];
    for (let i = 0; i < shape.runs; i++) {
      let peak = process.memoryUsage().rss;
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
      const started = performance.now();
      const handle = await rt.submit('flood');
      const outcome = await handle.result();
      const ms = performance.now() - started;
      clearInterval(sampler);
      peak = Math.max(peak, process.memoryUsage().rss);
      let chunks = 0;
      let chars = 0;
      for await (const chunk of rt.output(handle.id)) {
        chunks++;
        chars += chunk.data.length;
      }
      globalThis.gc();
      await new Promise((resolve) => setTimeout(resolve, 50));
      globalThis.gc();
      runs.push({ status: outcome.status, ms: Math.round(ms), peakGrowthMB: +((peak - base) / MB).toFixed(1), afterGcMB: +(process.memoryUsage().rss / MB).toFixed(1), chunksKept: chunks, charsKept: chars });
    }
    process.stdout.write(JSON.stringify({ shape: name, baseMB: +(base / MB).toFixed(1), runs }) + '\n');
  } finally {
    await rt.shutdown({ timeoutMs: 0 });
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') {
  await child(process.argv[3]);
} else {
  const names = process.argv.length > 2 ? process.argv.slice(2) : Object.keys(SHAPES);
  for (const name of names) {
    if (!(name in SHAPES)) throw new Error(`unknown shape ${name}; known: ${Object.keys(SHAPES).join(', ')}`);
    const result = spawnSync(process.execPath, ['--expose-gc', new URL(import.meta.url).pathname, '--child', name], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
    if (result.status !== 0) {
      process.stdout.write(`${name}: failed (exit ${result.status})\n`);
      continue;
    }
    const { shape, baseMB, runs } = JSON.parse(result.stdout.trim().split('\n').pop());
    for (const [i, run] of runs.entries()) {
      process.stdout.write(
        `${shape}${runs.length > 1 ? ` #${i + 1}` : ''}: peak +${run.peakGrowthMB} MB over ${baseMB} MB, ${run.afterGcMB} MB after GC, ${run.ms} ms, ${run.chunksKept} chunks / ${run.charsKept} chars kept (${run.status})\n`,
      );
    }
  }
}
