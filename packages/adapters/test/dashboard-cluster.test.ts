// The dashboard of a node serving a cluster, in headless Chromium (found as in
// dashboard-layout.test.ts), on a real redis-server: tasks run on another node show
// which node runs them while they run and after they end. Every wait is on the page's
// DOM or on a handle, never a sleep.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { createRuntime, type Runtime } from '@steward/core';
import { bullmqTransport, createHttpHost, type HttpHost } from '../src/index.js';
import { redisMissing, startRedis, type RedisServer } from './redis-server.js';

const TOKEN = 'dashboard-cluster-token-0123456789';
const CHROMIUM = process.env.STEWARD_CHROMIUM ?? '/usr/bin/chromium';
const noChromium = !existsSync(CHROMIUM);
if (noChromium && process.env.CI === 'true') throw new Error(`Chromium is not at ${CHROMIUM}: .ci/run installs Debian's chromium package`);
const skip = noChromium ? `no Chromium at ${CHROMIUM} (apt-get install chromium)` : (redisMissing() ?? false);

describe('the dashboard of a node serving a cluster, in headless Chromium', { skip }, () => {
  let redis: RedisServer;
  let front: Runtime;
  let worker: Runtime;
  let host: HttpHost;
  let browser: Browser;

  before(async () => {
    redis = await startRedis();
    const connection = `redis://127.0.0.1:${redis.port}`;
    const prefix = `dash-${process.pid}`;
    worker = await createRuntime({ concurrency: 2, transport: bullmqTransport({ connection, prefix, nodeId: 'worker-1' }) });
    front = await createRuntime({ transport: bullmqTransport({ connection, prefix, nodeId: 'front' }) });
    host = await createHttpHost(front, { token: TOKEN, port: 0 });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
  });

  after(async () => {
    await browser?.close();
    await host?.close();
    await Promise.all([front?.shutdown({ timeoutMs: 0 }), worker?.shutdown({ timeoutMs: 0 })]);
    await redis?.close();
  });

  it('shows on the front node which node runs a task, and which ran it, with no console error', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    worker.define('resize', { handler: async () => { await gate; return 'done'; } });
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on('console', (message) => message.type() === 'error' && errors.push(message.text()));
    page.on('pageerror', (error) => errors.push(error.message));
    try {
      await page.goto(`${host.url}/#token=${TOKEN}`);
      await page.locator('#conn.live').waitFor();
      const handle = await front.submit('resize');
      const running = page.locator(`#running tr#task-${handle.id}`);
      await running.locator('.node').waitFor();
      assert.equal(await running.locator('.node').textContent(), 'on worker-1');
      release();
      assert.equal((await handle.result()).status, 'completed');
      const ended = page.locator(`#recent tr#task-${handle.id}`);
      await ended.locator('.node').waitFor();
      assert.equal(await ended.locator('.node').textContent(), 'on worker-1');
      assert.deepEqual(errors, []);
    } finally {
      release();
      await page.close();
    }
  });
});
