// The dashboard's panels for agent work, in headless Chromium (found and launched as
// in dashboard-layout.test.ts): tasks suspended on a signal or a sleep, with the form
// that sends the signal (Approve and Reject for a decision); schedules with their next
// and last run, paused from the page; running and queued tasks per concurrency key;
// the rate buckets' usage and each task's. At 1,024 and 1,920 px: no console error,
// no horizontal overflow. Every wait is on an event or on the page's DOM, never a sleep.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createRuntime, type Runtime, type TaskContext } from '@steward/core';
import { createHttpHost, type HttpHost } from '../src/index.js';

// The page's globals, inside page.evaluate() callbacks (this project compiles without the DOM library).
declare const document: any;

const TOKEN = 'dashboard-token-0123456789abcdef';
const CHROMIUM = process.env.STEWARD_CHROMIUM ?? '/usr/bin/chromium';
const OUTPUT = fileURLToPath(new URL('../../../../test/output/', import.meta.url));
const missing = !existsSync(CHROMIUM);
if (missing && process.env.CI === 'true') throw new Error(`Chromium is not at ${CHROMIUM}: .ci/run installs Debian's chromium package`);
const skip = missing ? `no Chromium at ${CHROMIUM} (apt-get install chromium)` : false;
const HOUR = 3_600_000;

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

describe('the dashboard for agent work, in headless Chromium', { skip }, () => {
  let rt: Runtime;
  let host: HttpHost;
  let browser: Browser;
  const ids: Record<string, string> = {};
  const releases: Array<() => void> = [];

  /** Resolves once the task is suspended on its durable wait (on the event, or at once if it already is). */
  const suspended = (id: string) =>
    new Promise<void>((resolve) => {
      const check = () => {
        if (rt.get(id)?.waitingFor === undefined) return;
        off();
        resolve();
      };
      const off = rt.on('task:waiting', check);
      check();
    });

  before(async () => {
    rt = await createRuntime({ concurrency: 3, rateLimits: { llm: { limit: 10_000, intervalMs: HOUR } } });
    // Drafts with a model (1,200 units asked, 1,350 used), then waits for a person's decision.
    rt.define('draft-review', {
      handler: async (_input: unknown, ctx: TaskContext) => {
        await ctx.step('draft', async () => {
          await ctx.rateLimit('llm', { cost: 1_200 });
          ctx.reportUsage('llm', 1_350);
          return 'drafted';
        });
        const decision = await ctx.waitForSignal<{ approved: boolean }>('approval', { timeoutMs: 24 * HOUR });
        return decision.approved ? 'published' : 'dropped';
      },
      retries: { attempts: 0 },
    });
    rt.define('await-webhook', { handler: (input: { name: string }, ctx: TaskContext) => ctx.waitForSignal(input.name), retries: { attempts: 0 } });
    rt.define('cool-down', { handler: (_input: unknown, ctx: TaskContext) => ctx.sleep('cool-down', HOUR), retries: { attempts: 0 } });
    rt.define('sweep', { handler: () => 'swept' });
    // One running per key: tenant-a's other two wait their turn.
    rt.define('agent-run', {
      handler: () => new Promise<string>((resolve) => releases.push(() => resolve('done'))),
      keyConcurrency: 1,
    });
    host = await createHttpHost(rt, { token: TOKEN, port: 0 });

    for (const [name, type, input] of [
      ['approve', 'draft-review', {}],
      ['reject', 'draft-review', {}],
      ['webhook', 'await-webhook', { name: 'webhook-reply' }],
      ['stale', 'await-webhook', { name: 'go' }],
      ['sleep', 'cool-down', {}],
    ] as const) {
      const handle = await rt.submit(type, input, { budget: { llm: 5_000 } });
      ids[name] = handle.id;
      await suspended(handle.id);
    }
    for (const [n, key] of [[1, 'tenant-a'], [2, 'tenant-a'], [3, 'tenant-a'], [4, 'tenant-b']] as const) {
      ids[`run${n}`] = (await rt.submit('agent-run', { n }, { concurrencyKey: key })).id;
    }
    await rt.schedule('nightly-review', { cron: '0 3 * * *', timezone: 'Europe/Berlin', type: 'draft-review' });
    // A schedule that has fired once (its last run and task), then paused.
    const fired = new Promise<string>((resolve) => {
      const off = rt.on('schedule:fired', (event) => {
        if (event.scheduleId !== 'sweep') return;
        off();
        resolve(event.taskId);
      });
    });
    await rt.schedule('sweep', { every: 1_000, type: 'sweep' });
    ids.swept = await fired;
    await rt.pauseSchedule('sweep');
    browser = await launch();
  });

  after(async () => {
    for (const release of releases) release();
    await browser?.close();
    await host?.close();
    await rt?.shutdown({ timeoutMs: 0 });
  });

  /** The page, opened and painted (its event stream connected). */
  async function open(width = 1024) {
    const opened = await openPage(browser, width);
    await opened.page.goto(`${host.url}/#token=${TOKEN}`);
    await opened.page.locator('#conn.live').waitFor();
    return opened;
  }

  for (const width of [1024, 1920]) {
    it(`fits ${width} px with the waiting, schedule and bucket panels whole, and no console error`, async () => {
      const { page, errors } = await open(width);
      await page.locator(`#waiting tr#wait-${ids.approve}`).waitFor();
      const overflow = await page.evaluate(() => {
        const root = document.documentElement;
        const panels = [...document.querySelectorAll('section')]
          .filter((s) => s.scrollWidth > s.clientWidth)
          .map((s) => `${s.querySelector('h2')?.textContent}: ${s.scrollWidth} > ${s.clientWidth}`);
        const clipped = [...document.querySelectorAll('section button, section textarea')]
          .filter((b) => b.getBoundingClientRect().right > b.closest('section')!.getBoundingClientRect().right)
          .map((b) => b.textContent || b.tagName);
        const cells = [...document.querySelectorAll('section td')].filter((td) => td.scrollWidth > td.clientWidth).map((td) => td.textContent);
        const shown = ['waiting-panel', 'schedules-panel', 'budgets-panel'].filter((id) => !document.getElementById(id).hidden);
        return { page: root.scrollWidth > root.clientWidth, panels, clipped, cells, shown };
      });
      assert.deepEqual(overflow, { page: false, panels: [], clipped: [], cells: [], shown: ['waiting-panel', 'schedules-panel', 'budgets-panel'] });
      mkdirSync(OUTPUT, { recursive: true });
      await page.screenshot({ path: `${OUTPUT}dashboard-agent-${width}.png`, fullPage: true });
      assert.deepEqual(errors, []);
      await page.close();
    });
  }

  it('lists the tasks waiting for a signal or a sleep, until when, with Approve and Reject for a decision', async () => {
    const { page, errors } = await open();
    const row = (name: string) => page.locator(`#waiting tr#wait-${ids[name]}`);
    await row('approve').waitFor();
    const read = (name: string) =>
      row(name).evaluate((tr) => ({
        waits: tr.querySelector('td:nth-child(2) b')?.textContent,
        kind: tr.querySelector('td:nth-child(2)')?.textContent?.split(' ')[0],
        until: tr.querySelector('td:nth-child(2) .left')?.textContent ?? null,
        decide: [...tr.querySelectorAll('.decide button')].map((b) => [b.textContent, b.getAttribute('title')]),
        codes: [...tr.querySelectorAll('.decide code')].map((c) => c.textContent),
        form: tr.querySelector('textarea.payload') !== null,
        usage: tr.querySelector('.usage')?.textContent ?? null,
      }));
    const approve = await read('approve');
    assert.equal(approve.waits, 'approval');
    assert.equal(approve.kind, 'signal');
    assert.match(approve.until ?? '', /^in (23|24) h/);
    assert.deepEqual(approve.decide, [['Approve', 'sends {"approved":true}'], ['Reject', 'sends {"approved":false}']]);
    assert.deepEqual(approve.codes, ['{"approved":true}', '{"approved":false}']);
    assert.equal(approve.form, true);
    assert.equal(approve.usage, 'used llm 1,350 of 5,000');
    // A wait that is not a decision: the payload box only, no time limit.
    const webhook = await read('webhook');
    assert.deepEqual({ ...webhook, until: webhook.until }, { waits: 'webhook-reply', kind: 'signal', until: null, decide: [], codes: [], form: true, usage: null });
    assert.match((await row('webhook').textContent()) ?? '', /no time limit/);
    // A sleep: when it wakes, and nothing to send.
    const sleep = await read('sleep');
    assert.equal(sleep.kind, 'sleep');
    assert.equal(sleep.waits, 'cool-down');
    assert.match(sleep.until ?? '', /^in (59 min|1 h)/);
    assert.equal(sleep.form, false);
    // The queue says what they wait for too.
    assert.equal(await page.locator(`#queue tr#task-${ids.approve} .waits`).textContent(), 'signal approval');
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('shows running and queued tasks per concurrency key, and the buckets used by the tasks', async () => {
    const { page, errors } = await open();
    await page.locator('#queue .keys').waitFor();
    const keys = await page.locator('#queue .key-stat').evaluateAll((spans) => spans.map((s) => [s.getAttribute('data-key'), s.textContent]));
    assert.deepEqual(keys, [
      ['tenant-a', 'tenant-a 1 running, 2 queued'],
      ['tenant-b', 'tenant-b 1 running, 0 queued'],
    ]);
    assert.equal(await page.locator(`#queue tr#task-${ids.run2} .waits`).textContent(), 'key concurrency');
    // Two drafts used 1,350 each; 1,200 + 150 each were taken in the window.
    const bucket = await page.locator('#budgets tr#bucket-llm').evaluate((tr) => ({
      name: tr.querySelector('b')?.textContent,
      per: tr.querySelector('.sub')?.textContent,
      used: tr.querySelector('.used')?.textContent,
      window: tr.querySelector('.window')?.textContent,
      available: tr.querySelector('.available')?.textContent,
    }));
    assert.deepEqual(bucket, { name: 'llm', per: '10,000 per 1 h 0 min', used: '2,700', window: '2,700 of 10,000', available: '7,300' });
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('Approve sends { approved: true }: the signal is delivered and the task completes', async () => {
    const { page, errors } = await open();
    await page.locator(`#waiting tr#wait-${ids.approve} button`, { hasText: 'Approve' }).click();
    await page.locator('#waiting .result.ok', { hasText: 'delivered' }).waitFor();
    assert.match((await page.locator('#waiting .result').textContent()) ?? '', /^sent approval to \w{8} with \{"approved":true\}: delivered, the task is queued/);
    const outcome = await rt.task(ids.approve!)!.result();
    assert.deepEqual({ status: outcome.status, result: outcome.result }, { status: 'completed', result: 'published' });
    // The page follows: the task leaves the waiting list and ends among the outcomes, with its usage.
    await page.locator(`#waiting tr#wait-${ids.approve}`).waitFor({ state: 'detached' });
    const ended = page.locator(`#recent tr#task-${ids.approve}`);
    await ended.waitFor();
    assert.equal(await ended.locator('.status').textContent(), 'completed');
    assert.equal(await ended.locator('.usage').textContent(), 'used llm 1,350 of 5,000');
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('Reject sends { approved: false }', async () => {
    const { page, errors } = await open();
    await page.locator(`#waiting tr#wait-${ids.reject} button`, { hasText: 'Reject' }).click();
    await page.locator('#waiting .result.ok', { hasText: '{"approved":false}' }).waitFor();
    const outcome = await rt.task(ids.reject!)!.result();
    assert.deepEqual({ status: outcome.status, result: outcome.result }, { status: 'completed', result: 'dropped' });
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('Send posts the JSON payload typed in the box, and refuses text that is not JSON', async () => {
    const { page, errors } = await open();
    const row = page.locator(`#waiting tr#wait-${ids.webhook}`);
    await row.locator('textarea').fill('{"status": 200, ');
    await row.locator('button', { hasText: 'Send' }).click();
    await page.locator('#waiting .result.err', { hasText: 'not JSON' }).waitFor();
    assert.equal(rt.get(ids.webhook!)?.status, 'waiting');
    // What was typed stays in the box across repaints.
    assert.equal(await row.locator('textarea').inputValue(), '{"status": 200, ');
    await row.locator('textarea').fill('{"status": 200, "body": "ok"}');
    await row.locator('button', { hasText: 'Send' }).click();
    const outcome = await rt.task(ids.webhook!)!.result();
    assert.deepEqual({ status: outcome.status, result: outcome.result }, { status: 'completed', result: { status: 200, body: 'ok' } });
    await page.locator('#waiting .result.ok', { hasText: 'webhook-reply' }).waitFor();
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('shows the error code when the signal is refused (a task that ended meanwhile)', async () => {
    const { page, errors } = await openPage(browser, 1024);
    // The page keeps the state it read first, so it still offers the form of the task cancelled below.
    let first: string | undefined;
    await page.route('**/api/dashboard', async (route) => {
      const response = await route.fetch();
      first ??= await response.text();
      await route.fulfill({ response, body: first });
    });
    await page.goto(`${host.url}/#token=${TOKEN}`);
    const row = page.locator(`#waiting tr#wait-${ids.stale}`);
    await row.waitFor();
    await rt.cancel(ids.stale!, 'no longer needed');
    await row.locator('textarea').fill('{}');
    await row.locator('button', { hasText: 'Send' }).click();
    const note = page.locator('#waiting .result.err');
    await note.waitFor();
    assert.match((await note.textContent()) ?? '', /^go to \w{8} not sent: STEWARD_INVALID_STATE: /);
    // The browser logs the refused request (a 409) itself; nothing else went wrong.
    assert.deepEqual(errors.filter((e) => !e.includes('409')), []);
    await page.close();
  });

  it('lists the schedules with their next and last run, and pauses and resumes one', async () => {
    const { page, errors } = await open();
    const nightly = page.locator('#schedules tr#schedule-nightly-review');
    await nightly.waitFor();
    const read = (id: string) =>
      page.locator(`#schedules tr#schedule-${id}`).evaluate((tr) => ({
        spec: tr.querySelector('.cmd')?.textContent,
        subs: [...tr.querySelectorAll('td:first-child .sub')].map((s) => s.textContent),
        next: tr.querySelector('.next span')?.textContent,
        left: tr.querySelector('.next .left')?.textContent,
        last: tr.querySelector('.last')?.textContent,
        lastTask: tr.querySelector('.last a')?.getAttribute('data-show') ?? null,
        state: tr.querySelector('.status')?.textContent,
        button: tr.querySelector('button')?.textContent,
      }));
    const info = rt.schedules().find((s) => s.id === 'nightly-review')!;
    const shown = await read('nightly-review');
    assert.equal(shown.spec, 'cron 0 3 * * *');
    assert.deepEqual(shown.subs, ['runs draft-review', 'Europe/Berlin']);
    assert.match(shown.next ?? '', /^(\w{3} \d{1,2} )?\d\d:\d\d:\d\d$/);
    assert.equal(new Date(info.next!).getSeconds(), Number(shown.next!.slice(-2)));
    assert.match(shown.left ?? '', /^in \d+ (h|min)/);
    assert.deepEqual({ last: shown.last, state: shown.state, button: shown.button }, { last: 'not yet', state: 'active', button: 'pause' });
    const sweep = await read('sweep');
    assert.equal(sweep.spec, 'every 1.0 s');
    assert.equal(sweep.lastTask, ids.swept);
    assert.deepEqual({ state: sweep.state, button: sweep.button }, { state: 'paused', button: 'resume' });

    await nightly.locator('button', { hasText: 'pause' }).click();
    await nightly.locator('.status', { hasText: 'paused' }).waitFor();
    assert.equal(rt.schedules().find((s) => s.id === 'nightly-review')?.paused, true);
    assert.equal(await page.locator('#schedules .result.ok').textContent(), 'nightly-review paused');
    await nightly.locator('button', { hasText: 'resume' }).click();
    await nightly.locator('.status', { hasText: 'active' }).waitFor();
    assert.equal(rt.schedules().find((s) => s.id === 'nightly-review')?.paused, false);
    assert.deepEqual(errors, []);
    await page.close();
  });
});
