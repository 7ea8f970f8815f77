import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRuntime } from '@steward/core';
import { createHttpHost } from '../src/index.js';

const TOKEN = 'test-token-0123456789abcdef';

async function scrape(url: string): Promise<string> {
  const response = await fetch(new URL('/metrics', url));
  assert.equal(response.status, 200);
  return response.text();
}

describe('Prometheus: concurrency keys and budgets', () => {
  it('shows running and queued tasks per concurrency key', async () => {
    const rt = await createRuntime({ concurrency: 4 });
    const release: Array<() => void> = [];
    let twoRunning!: () => void;
    const bothStarted = new Promise<void>((resolve) => (twoRunning = resolve));
    rt.define('agent-run', {
      keyConcurrency: 1,
      handler: () =>
        new Promise<void>((resolve) => {
          if (release.push(resolve) === 2) twoRunning();
        }),
    });
    const host = await createHttpHost(rt, { token: TOKEN, port: 0 });
    try {
      for (let i = 0; i < 3; i++) await rt.submit('agent-run', null, { concurrencyKey: 'tenant-a' });
      await rt.submit('agent-run', null, { concurrencyKey: 'tenant-b' });
      await bothStarted;
      const text = await scrape(host.url);
      assert.match(text, /steward_key_running\{key="tenant-a"\} 1/);
      assert.match(text, /steward_key_queued\{key="tenant-a"\} 2/);
      assert.match(text, /steward_key_running\{key="tenant-b"\} 1/);
    } finally {
      for (const r of release) r();
      await host.close();
      await rt.shutdown({ timeoutMs: 0 });
    }
  });

  it('shows the units each rate bucket was used and has free', async () => {
    const rt = await createRuntime({ rateLimits: { llm: { limit: 1_000, intervalMs: 60_000 } } });
    rt.define('agent', {
      handler: async (_: null, ctx) => {
        await ctx.rateLimit('llm', { cost: 300 });
        ctx.reportUsage('llm', 420);
      },
    });
    const host = await createHttpHost(rt, { token: TOKEN, port: 0 });
    try {
      await (await rt.submit('agent', null)).result();
      const text = await scrape(host.url);
      assert.match(text, /steward_ratelimit_used_units\{bucket="llm"\} 420/);
      assert.match(text, /steward_ratelimit_available_units\{bucket="llm"\} 580/);
    } finally {
      await host.close();
      await rt.shutdown({ timeoutMs: 0 });
    }
  });
});
