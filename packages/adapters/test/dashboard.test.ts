// The dashboard in a real headless Chromium (Debian's package, driven by
// playwright-core; no browser is downloaded). CI installs it (.ci/run); on a
// machine without it the test says so and is skipped, except under CI.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createRuntime, type Runtime } from '@steward/core';
import { createHttpHost, type HttpHost } from '../src/index.js';

const TOKEN = 'dashboard-token-0123456789abcdef';
const CHROMIUM = process.env.STEWARD_CHROMIUM ?? '/usr/bin/chromium';
const OUTPUT = fileURLToPath(new URL('../../../../test/output/', import.meta.url));
const missing = !existsSync(CHROMIUM);
if (missing && process.env.CI === 'true') throw new Error(`Chromium is not at ${CHROMIUM}: .ci/run installs Debian's chromium package`);

describe('the dashboard in headless Chromium', { skip: missing ? `no Chromium at ${CHROMIUM} (apt-get install chromium)` : false }, () => {
  let rt: Runtime;
  let host: HttpHost;
  let browser: Browser;
  let page: Page;
  const gates = new Map<string, () => void>();
  // Resolves when a task reaches its gate (no polling, no sleep).
  const reachedGate = new Map<string, () => void>();
  const reaching = (name: string) => new Promise<void>((resolve) => (gates.has(name) ? resolve() : reachedGate.set(name, resolve)));
  const gate = (name: string) =>
    new Promise<void>((resolve) => {
      gates.set(name, resolve);
      reachedGate.get(name)?.();
    });

  before(async () => {
    rt = await createRuntime({ concurrency: 1 });
    rt.define('blocker', { handler: (input: { name: string }) => gate(input.name) });
    rt.define('staged', {
      handler: async (input: { name: string }, ctx) => {
        ctx.progress(40, 'reading files');
        await gate(input.name);
        ctx.progress(90, 'writing report');
        return 'done';
      },
    });
    rt.define('endless', { handler: (_input, ctx) => new Promise((resolve) => ctx.signal.addEventListener('abort', () => resolve(null))) });
    host = await createHttpHost(rt, { token: TOKEN, port: 0 });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${host.url}/#token=${TOKEN}`);
    await page.locator('#conn.live').waitFor();
  });

  after(async () => {
    for (const open of gates.values()) open();
    await browser?.close();
    await host?.close();
    await rt?.shutdown({ timeoutMs: 0 });
  });

  it('shows a task go from queued to running with progress to completed', async () => {
    await rt.submit('blocker', { name: 'first' });
    const staged = await rt.submit('staged', { name: 'staged' });
    const short = staged.id.slice(0, 8);
    await page.locator('#queue tr', { hasText: short }).locator('.status', { hasText: 'queued' }).waitFor();
    await reaching('first');
    gates.get('first')?.();
    const running = page.locator('#running tr', { hasText: short });
    await running.locator('.status', { hasText: 'running' }).waitFor();
    await running.locator('.progress-text', { hasText: '40% reading files' }).waitFor();
    mkdirSync(OUTPUT, { recursive: true });
    await page.screenshot({ path: `${OUTPUT}dashboard.png`, fullPage: true });
    await reaching('staged');
    gates.get('staged')?.();
    await page.locator('#recent tr', { hasText: short }).locator('.status', { hasText: 'completed' }).waitFor();
    assert.equal((await staged.result()).status, 'completed');
    assert.ok(existsSync(`${OUTPUT}dashboard.png`));
  });

  it('cancels a running task when its cancel button is clicked', async () => {
    const endless = await rt.submit('endless');
    const short = endless.id.slice(0, 8);
    const running = page.locator('#running tr', { hasText: short });
    await running.locator('.status', { hasText: 'running' }).waitFor();
    await running.locator('button[data-cancel]').click();
    const outcome = await endless.result();
    assert.equal(outcome.status, 'cancelled');
    await page.locator('#recent tr', { hasText: short }).locator('.status', { hasText: 'cancelled' }).waitFor();
  });

  it('shows the supervision tree and the workflows', async () => {
    const wf = await rt.workflow({ name: 'visible workflow', phases: [{ id: 'only', tasks: [{ id: 'a', type: 'staged', input: { name: 'wf-a' } }] }] });
    await page.locator('#workflows', { hasText: 'visible workflow' }).waitFor();
    // The workflow's task reaches its gate in its own time: wait until it is there.
    await reaching('wf-a');
    gates.get('wf-a')?.();
    await wf.result();
    await page.locator('#supervision', { hasText: 'type:staged' }).waitFor();
    await page.locator('#workflows .phase', { hasText: 'only 1/1' }).waitFor();
  });
});
