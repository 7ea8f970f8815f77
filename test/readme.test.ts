// The README's code runs as written. Every ```js block in README.md is a complete
// ES module: each is saved as a .mjs file in the repository's root (where
// `@steward/core` and `@steward/adapters` resolve through the workspaces, and where
// the README tells readers to save them) and run with this Node; it must exit 0.
// Output, shell sessions and configuration use other fences (console, sh, json,
// text) and are not run; a ```ts, ```mjs or ```javascript block is refused, so no
// snippet escapes this test by its fence.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** One fenced block of a markdown file. */
interface Block {
  lang: string;
  line: number;
  code: string;
}

/** Every fenced block of `markdown`, with the line its fence opens on. */
function fencedBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i]!);
    if (open === null) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]!); i++) body.push(lines[i]!);
    blocks.push({ lang: open[1]!, line: start + 1, code: body.join('\n') + '\n' });
  }
  return blocks;
}

/** Runs `file` with this Node in the repository's root; resolves with its exit code and output. */
function runNode(file: string, env: NodeJS.ProcessEnv = process.env): Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, output }));
  });
}

const readme = readFileSync(join(root, 'README.md'), 'utf8');
const blocks = fencedBlocks(readme);

describe('the README', () => {
  it('fences its code as js (run below) and everything else as console, sh, json or text', () => {
    const unrun = blocks.filter((b) => ['ts', 'typescript', 'mjs', 'javascript', 'cjs', ''].includes(b.lang));
    assert.deepEqual(
      unrun.map((b) => `README.md:${b.line} \`\`\`${b.lang}`),
      [],
      'every code block is ```js so that this test runs it; output and sessions use console, sh, json or text',
    );
    assert.ok(blocks.some((b) => b.lang === 'js'), 'the README has js blocks');
  });

  it('points only at files a clone has: no ../shared, and every relative link of it and of docs/ exists', () => {
    const broken: string[] = [];
    for (const page of ['README.md', 'docs/architecture.md', 'docs/api.md', 'examples/scan-repo/README.md']) {
      const text = readFileSync(join(root, page), 'utf8');
      if (text.includes('../shared')) broken.push(`${page}: mentions ../shared`);
      for (const [, target] of text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
        if (/^[a-z]+:/.test(target!)) continue;
        if (!existsSync(join(root, dirname(page), target!))) broken.push(`${page}: ${target}`);
      }
    }
    assert.deepEqual(broken, []);
  });

  // Cluster snippets need a Redis: the one the adapters' tests start (redis-server on a
  // free loopback port), told to the snippet as REDIS_PORT. Skipped, with the reason,
  // only where redis-server is missing and not under CI.
  const redisHelper = new URL('../../packages/adapters/dist/test/redis-server.js', import.meta.url).href;
  type RedisHelper = { redisMissing(): string | undefined; startRedis(): Promise<{ port: number; close(): Promise<void> }> };
  for (const block of blocks.filter((b) => b.lang === 'js')) {
    const needsRedis = block.code.includes('bullmqTransport');
    // A hang guard only (a snippet that forgets shutdown() keeps its process alive); no timing is asserted.
    it(`runs the js block at README.md:${block.line} to exit code 0`, { timeout: 300_000 }, async (t) => {
      let redis: { port: number; close(): Promise<void> } | undefined;
      if (needsRedis) {
        const helper = (await import(redisHelper)) as RedisHelper;
        const missing = helper.redisMissing();
        if (missing !== undefined) return t.skip(missing);
        redis = await helper.startRedis();
      }
      const file = join(root, `.readme-snippet-${process.pid}-${block.line}.mjs`);
      writeFileSync(file, block.code);
      try {
        const env = redis === undefined ? process.env : { ...process.env, REDIS_PORT: String(redis.port) };
        const { code, signal, output } = await runNode(file, env);
        assert.equal(code, 0, `README.md:${block.line} exited with ${code ?? signal}:\n${output}`);
      } finally {
        rmSync(file, { force: true });
        await redis?.close();
      }
    });
  }
});
