// The dashboard as a person watching it sees it, in headless Chromium (found and
// launched as in dashboard.test.ts): a workload with history, running, queued,
// waiting and ended tasks, a task waiting for approval, a schedule, keys and a bucket; the page at 1,024, 1,400 and 1,920 px with no console
// error and no horizontal overflow; the state painted from one REST read before the
// event stream connects; the header and the chart agreeing after a restart.
// Screenshots go to test/output/; `npm run docs:screenshot` also writes docs/dashboard.png.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createRuntime, type Clock, type Runtime, type TaskContext } from '@steward/core';
import { createHttpHost, processExecutor, type HttpHost } from '../src/index.js';

// The page's globals, inside page.evaluate() callbacks (this project compiles without the DOM library).
declare const document: any;

const TOKEN = 'dashboard-token-0123456789abcdef';
const CHROMIUM = process.env.STEWARD_CHROMIUM ?? '/usr/bin/chromium';
const OUTPUT = fileURLToPath(new URL('../../../../test/output/', import.meta.url));
const DOCS_PICTURE = fileURLToPath(new URL('../../../../docs/dashboard.png', import.meta.url));
const missing = !existsSync(CHROMIUM);
if (missing && process.env.CI === 'true') throw new Error(`Chromium is not at ${CHROMIUM}: .ci/run installs Debian's chromium package`);
const skip = missing ? `no Chromium at ${CHROMIUM} (apt-get install chromium)` : false;

function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A page that records every console error and uncaught exception. */
async function openPage(browser: Browser, width: number, height = 900): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width, height } });
  const errors: string[] = [];
  page.on('console', (message) => message.type() === 'error' && errors.push(message.text()));
  page.on('pageerror', (error) => errors.push(error.message));
  return { page, errors };
}

/** Wall time moved by `shift`, so a workload can leave a history over the chart's ten minutes. */
function shiftedClock(): Clock & { shift: number } {
  return {
    shift: 0,
    now() {
      return Date.now() + this.shift;
    },
    setTimeout: (fn, ms) => setTimeout(fn, ms),
    clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
  };
}

interface Work {
  fail?: string;
  gate?: string;
  progress?: [number, string];
  hang?: boolean;
}

describe('the dashboard for a person watching, in headless Chromium', { skip }, () => {
  let rt: Runtime;
  let host: HttpHost;
  let browser: Browser;
  const gates = new Map<string, () => void>();
  const gateReached = new Map<string, Promise<void>>();
  const reached = new Map<string, () => void>();
  const ids: Record<string, string> = {};
  const clock = shiftedClock();

  const gateOf = (name: string) => {
    if (!gateReached.has(name)) gateReached.set(name, new Promise<void>((resolve) => reached.set(name, resolve)));
    return gateReached.get(name)!;
  };

  before(async () => {
    const processes = processExecutor({ allow: ['sleep'] });
    rt = await createRuntime({ concurrency: 3, clock, executors: [processes], rateLimits: { llm: { limit: 200_000, intervalMs: 3_600_000 } } });
    const work = async (input: Work, ctx: { progress(p: number, m?: string): void; signal: AbortSignal }) => {
      if (input.progress) ctx.progress(...input.progress);
      if (input.hang) await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
      if (input.gate !== undefined) {
        const name = input.gate;
        gateOf(name);
        await new Promise<void>((resolve) => {
          gates.set(name, resolve);
          reached.get(name)?.();
        });
      }
      if (input.fail !== undefined) throw Object.assign(new Error(input.fail), { code: input.fail.startsWith('registry') ? 'E_REGISTRY_UNAVAILABLE' : 'E_LINT' });
      return 'ok';
    };
    for (const type of ['build', 'scan-secrets', 'lint', 'test', 'report', 'count-lines', 'fetch-deps-from-registry']) rt.define(type, { handler: work, retries: { attempts: 0 } });
    rt.define('command', { command: (i: { command: string }) => i.command, args: (i: { args: string[] }) => i.args });
    // An agent-like task: drafts with a model (in a step, so it runs once), then waits for a person.
    rt.define('review-pr', {
      handler: async (_input: unknown, ctx: TaskContext) => {
        await ctx.step('draft', async () => {
          await ctx.rateLimit('llm', { cost: 12_000 });
          ctx.reportUsage('llm', 13_480);
        });
        return ctx.waitForSignal('approval', { timeoutMs: 86_400_000 });
      },
    });
    host = await createHttpHost(rt, { token: TOKEN, port: 0, commands: { type: 'command', executor: processes } });

    // History: batches that ended over the last nine minutes, a failure now and then,
    // one attempt past its deadline and one cancelled task.
    for (let k = 0; k < 18; k++) {
      clock.shift = -(18 - k) * 30_000;
      const batch = [];
      for (let n = 0; n < 2 + ((k * 7) % 5); n++) batch.push(rt.submit(n % 2 === 0 ? 'test' : 'count-lines', {}));
      if (k % 5 === 2) batch.push(rt.submit('lint', { fail: 'no-unused-vars in packages/core/src/engine/engine.ts' }));
      if (k === 9 || k === 17) batch.push(rt.submit('fetch-deps-from-registry', { hang: true }, { timeoutMs: 50 }));
      if (k === 17) batch.push(rt.submit('fetch-deps-from-registry', { fail: 'registry.npmjs.org answered 503 three times in a row' }));
      for (const handle of await Promise.all(batch)) await handle.result();
    }
    clock.shift = -45_000;
    const cancelled = await rt.submit('scan-secrets', { gate: 'cancelled' });
    await gateOf('cancelled');
    await rt.cancel(cancelled.id, 'not needed');
    gates.get('cancelled')?.();
    await cancelled.result();
    clock.shift = 0;

    // Now: one waiting for approval, three running (one a command), one waiting for two of them, one queued; a schedule.
    const review = await rt.submit('review-pr', { pr: 1432 }, { budget: { llm: 50_000 } });
    await new Promise<void>((resolve) => {
      const check = () => rt.get(review.id)?.waitingFor !== undefined && (off(), resolve());
      const off = rt.on('task:waiting', check);
      check();
    });
    await rt.schedule('nightly-audit', { cron: '0 3 * * *', timezone: 'UTC', type: 'scan-secrets', input: { gate: 'nightly' } });
    const build = await rt.submit('build', { gate: 'build', progress: [40, 'compiling 12 of 30 packages'] }, { priority: 'high', concurrencyKey: 'web-app' });
    const scan = await rt.submit('scan-secrets', { gate: 'scan', progress: [75, 'scanned 310/412 files'] }, { concurrencyKey: 'api-server' });
    await Promise.all([gateOf('build'), gateOf('scan')]);
    const created = await fetch(`${host.url}/api/tasks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ command: 'sleep', args: ['600'], options: { priority: 'low' } }),
    });
    assert.equal(created.status, 201);
    const command = (await created.json()) as { id: string };
    const report = await rt.submit('report', {}, { dependsOn: [build.id, scan.id] });
    const queued = await rt.submit('count-lines', { gate: 'queued' }, { priority: 'background' });
    Object.assign(ids, { build: build.id, scan: scan.id, command: command.id, report: report.id, queued: queued.id, review: review.id });
    browser = await launch();
  });

  after(async () => {
    for (const open of gates.values()) open();
    await browser?.close();
    await host?.close();
    await rt?.shutdown({ timeoutMs: 0 });
  });

  it('paints the last known state from one REST read, before the event stream connects', async () => {
    const { page, errors } = await openPage(browser, 1280);
    const reads: string[] = [];
    page.on('request', (request) => {
      const path = new URL(request.url()).pathname;
      if (path.startsWith('/api/') && path !== '/api/events') reads.push(path);
    });
    // The event stream is held back: whatever the page shows now came from the REST read.
    await page.route('**/api/events**', () => {});
    await page.goto(`${host.url}/#token=${TOKEN}`);
    await page.waitForFunction(() => document.getElementById('n-running')?.textContent === '3');
    const shown = await page.evaluate(() => ({
      running: document.getElementById('n-running')?.textContent,
      queued: document.getElementById('n-queued')?.textContent,
      waiting: document.getElementById('n-waiting')?.textContent,
      conn: document.getElementById('conn')?.textContent,
      live: document.getElementById('conn')?.classList.contains('live'),
      rows: document.querySelectorAll('#running tr[id], #queue tr[id], #recent tr[id]').length,
    }));
    assert.deepEqual({ ...shown, conn: shown.conn?.startsWith('as of ') }, { running: '3', queued: '1', waiting: '2', conn: true, live: false, rows: 3 + 3 + 15 });
    // The panels for agent work come from the same read.
    assert.equal(await page.locator(`#waiting tr#wait-${ids.review} button`, { hasText: 'Approve' }).count(), 1);
    assert.equal(await page.locator('#schedules tr#schedule-nightly-audit').count(), 1);
    assert.equal(await page.locator('#budgets tr#bucket-llm .used').textContent(), '13,480');
    assert.deepEqual(reads, ['/api/dashboard']);
    assert.deepEqual(errors, []);
    await page.close();
  });

  for (const width of [1024, 1400, 1920]) {
    it(`fits ${width} px with every panel whole, and no console error`, async () => {
      const { page, errors } = await openPage(browser, width);
      await page.goto(`${host.url}/#token=${TOKEN}`);
      await page.locator('#conn.live').waitFor();
      await page.locator('#recent tr', { hasText: 'lint' }).first().waitFor();
      const overflow = await page.evaluate(() => {
        const root = document.documentElement;
        const panels = [...document.querySelectorAll('section')]
          .filter((s) => s.scrollWidth > s.clientWidth)
          .map((s) => `${s.querySelector('h2')?.textContent}: ${s.scrollWidth} > ${s.clientWidth}`);
        // Each button lies wholly inside its panel (none clipped at the right edge).
        const clipped = [...document.querySelectorAll('section button')]
          .filter((b) => b.getBoundingClientRect().right > b.closest('section')!.getBoundingClientRect().right)
          .map((b) => b.textContent);
        // No cell's content spills over into the next one (a long error code, a command).
        const cells = [...document.querySelectorAll('section td')].filter((td) => td.scrollWidth > td.clientWidth).map((td) => td.textContent);
        return { page: root.scrollWidth > root.clientWidth, panels, clipped, cells };
      });
      assert.deepEqual(overflow, { page: false, panels: [], clipped: [], cells: [] });
      mkdirSync(OUTPUT, { recursive: true });
      await page.screenshot({ path: `${OUTPUT}dashboard-${width}.png`, fullPage: true });
      assert.deepEqual(errors, []);
      await page.close();
    });
  }

  it('draws the chart with a time axis, a count axis and a legend for every colour', async () => {
    const { page, errors } = await openPage(browser, 1024);
    await page.goto(`${host.url}/#token=${TOKEN}`);
    await page.locator('#chart svg').waitFor();
    const chart = await page.evaluate(() => ({
      title: document.querySelector('#chart .axis-title')?.textContent,
      times: [...document.querySelectorAll('#chart .x-label')].map((t) => t.textContent),
      counts: [...document.querySelectorAll('#chart .y-label')].map((t) => Number(t.textContent)),
      colours: [...new Set([...document.querySelectorAll('#chart rect[class]')].map((r) => r.getAttribute('class')))].sort(),
      legend: [...document.querySelectorAll('#legend li')].map((li) => [li.querySelector('.sw')?.classList[1], li.textContent?.split(':')[0]]),
    }));
    assert.equal(chart.title, 'tasks ended per 30 s');
    assert.equal(chart.times.length, 6);
    assert.equal(chart.times.at(-1), 'now');
    for (const time of chart.times.slice(0, -1)) assert.match(time ?? '', /^\d\d:\d\d$/);
    assert.equal(chart.counts[0], 0);
    assert.ok(chart.counts.length >= 2 && chart.counts.every((c, i) => i === 0 || c > chart.counts[i - 1]!));
    assert.deepEqual(chart.colours, ['c-cancelled', 'c-completed', 'c-failed', 'c-timed_out']);
    assert.deepEqual(chart.legend, [
      ['c-completed', 'completed'],
      ['c-failed', 'failed'],
      ['c-timed_out', 'timed out'],
      ['c-cancelled', 'cancelled'],
    ]);
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('shows the command, priority and elapsed time of running tasks, the dependencies of a waiting one and when outcomes ended', async () => {
    const { page, errors } = await openPage(browser, 1024);
    await page.goto(`${host.url}/#token=${TOKEN}`);
    const command = page.locator(`#running tr#task-${ids.command}`);
    assert.equal(await command.locator('.cmd').textContent(), 'sleep 600');
    const build = page.locator(`#running tr#task-${ids.build}`);
    assert.equal(await build.locator('.priority').textContent(), '4');
    assert.match((await build.locator('.elapsed').textContent()) ?? '', /^\d+(\.\d)? (ms|s)$|min/);
    assert.equal(await build.locator('.progress-text').textContent(), '40% compiling 12 of 30 packages');
    // Elapsed time moves on while the page is open.
    const first = await build.locator('.elapsed').textContent();
    await page.waitForFunction(([id, text]) => document.querySelector(`#task-${id} .elapsed`)?.textContent !== text, [ids.build, first] as const);
    const waiting = page.locator(`#queue tr#task-${ids.report}`);
    const links = await waiting.locator('.waits a').evaluateAll((as) => as.map((a) => [a.getAttribute('data-show'), a.textContent, a.getAttribute('href')]));
    assert.deepEqual(links, [ids.build, ids.scan].map((id) => [id, id!.slice(0, 8), `#task-${id}`]));
    const ended = await page.locator('#recent .ended').allTextContents();
    assert.equal(ended.length, 15);
    for (const time of ended) assert.match(time, /^\d\d:\d\d:\d\d$/);
    // A dependency's link leads to that task: its row, and its details.
    await waiting.locator(`.waits a[data-show="${ids.build}"]`).click();
    await page.locator('#detail-panel:not([hidden]) #detail', { hasText: ids.build! }).waitFor();
    assert.match((await page.locator('#detail').textContent()) ?? '', /priority4/);
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('writes the picture of the README (docs/dashboard.png with STEWARD_DOCS_SCREENSHOT=1)', async () => {
    const { page, errors } = await openPage(browser, 1280, 860);
    await page.goto(`${host.url}/#token=${TOKEN}`);
    await page.locator('#conn.live').waitFor();
    mkdirSync(OUTPUT, { recursive: true });
    // What fits one screen (header, chart, running, queue, the task waiting for approval, the latest outcomes): a small file.
    const path = process.env.STEWARD_DOCS_SCREENSHOT === '1' ? DOCS_PICTURE : `${OUTPUT}dashboard-1280.png`;
    await page.screenshot({ path });
    assert.ok(existsSync(path));
    assert.deepEqual(errors, []);
    await page.close();
  });
});

describe('the dashboard after a restart, in headless Chromium', { skip }, () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'steward-dashboard-'));
  let rt: Runtime | undefined;
  let host: HttpHost | undefined;
  let browser: Browser | undefined;

  after(async () => {
    await browser?.close();
    await host?.close();
    await rt?.shutdown({ timeoutMs: 0 });
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('shows the header and the chart from the same outcomes, ended before the restart too', async () => {
    const define = (runtime: Runtime) =>
      runtime.define('job', {
        handler: (input: { fail?: boolean }) => {
          if (input.fail) throw new Error('broken');
          return 'ok';
        },
        retries: { attempts: 0 },
      });
    const before = await createRuntime({ dataDir });
    define(before);
    for (const input of [{}, {}, {}, { fail: true }]) await (await before.submit('job', input)).result();
    await before.shutdown();

    rt = await createRuntime({ dataDir });
    define(rt);
    host = await createHttpHost(rt, { token: TOKEN, port: 0 });
    browser = await launch();
    const { page, errors } = await openPage(browser, 1024);
    await page.goto(`${host.url}/#token=${TOKEN}`);
    await page.locator('#chart svg').waitFor();
    const shown = await page.evaluate(() => ({
      ended: document.getElementById('n-ended')?.textContent,
      success: document.getElementById('n-success')?.textContent,
      completedBars: document.querySelectorAll('#chart rect.c-completed').length,
      failedBars: document.querySelectorAll('#chart rect.c-failed').length,
      failedRows: document.querySelectorAll('#recent .s-failed').length,
    }));
    assert.deepEqual(shown, { ended: '4', success: '75%', completedBars: shown.completedBars, failedBars: 1, failedRows: 1 });
    assert.ok(shown.completedBars >= 1);
    assert.deepEqual(errors, []);
  });
});
