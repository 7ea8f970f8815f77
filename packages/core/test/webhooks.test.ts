import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createRuntime, isStewardError, verifyWebhook, type Runtime } from '../src/index.js';
import { withRuntime } from '../src/testing.js';

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

/** A real receiver on loopback that answers with the statuses given, in turn (then 200). */
async function receiver(statuses: number[] = [], extra: (res: import('node:http').ServerResponse) => void = () => undefined): Promise<{ url: string; got: Received[]; server: Server; close: () => Promise<void> }> {
  const got: Received[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      got.push({ headers: req.headers, body });
      extra(res);
      res.statusCode = statuses.shift() ?? 200;
      res.end('RECEIVER-PRIVATE-BODY');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hook`, got, server, close: () => new Promise((r) => server.close(() => r())) };
}

function until(rt: Runtime, type: 'webhook:delivered' | 'webhook:failed', final = true): Promise<void> {
  return new Promise((resolve) => {
    const off = rt.on(type as 'webhook:failed', (e) => {
      if (type === 'webhook:delivered' || e.final === final) {
        off();
        resolve();
      }
    });
  });
}

const SECRET = 'whsec_c2VjcmV0LWtleS1mb3ItdGVzdHM=';
const local = { webhooks: { allowPrivateNetworks: true, delayMs: 5 } };

describe('webhooks', () => {
  it('POSTs the outcome when a task ends, signed so that verifyWebhook accepts it and rejects a tampered copy', async () => {
    const hook = await receiver();
    try {
      await withRuntime(local, async (rt) => {
        rt.define('t', { handler: (n: number) => n * 2 });
        const delivered = until(rt, 'webhook:delivered');
        const handle = await rt.submit('t', 21, { webhook: { url: hook.url, secret: SECRET }, metadata: { by: 'test' } });
        await delivered;
        const [first] = hook.got;
        assert.ok(first);
        const payload = JSON.parse(first.body);
        assert.equal(payload.type, 'task.completed');
        assert.equal(payload.data.taskId, handle.id);
        assert.equal(payload.data.result, 42);
        assert.deepEqual(payload.data.metadata, { by: 'test' });
        assert.equal(first.headers['webhook-id'] !== undefined, true);
        assert.equal(verifyWebhook(first.headers, first.body, SECRET), true);
        assert.equal(verifyWebhook(first.headers, first.body.replace('42', '43'), SECRET), false, 'a changed body');
        assert.equal(verifyWebhook(first.headers, first.body, 'whsec_b3RoZXI='), false, 'another secret');
        assert.equal(verifyWebhook(first.headers, first.body, SECRET, { now: Date.now() + 3_600_000 }), false, 'too old');
        const history = rt.webhookHistory(handle.id);
        assert.equal(history.length, 1);
        assert.equal(history[0]?.state, 'delivered');
        assert.deepEqual(history[0]?.attempts.map((a) => [a.attempt, a.ok, a.status]), [[1, true, 200]]);
      });
    } finally {
      await hook.close();
    }
  });

  it('retries a failed delivery with backoff and keeps every attempt, never the receiver’s body', async () => {
    const hook = await receiver([500, 503]);
    try {
      await withRuntime(local, async (rt) => {
        rt.define('t', { handler: () => 1 });
        const delivered = until(rt, 'webhook:delivered');
        const handle = await rt.submit('t', null, { webhook: { url: hook.url, secret: SECRET } });
        await delivered;
        const [delivery] = rt.webhookHistory(handle.id);
        assert.deepEqual(delivery?.attempts.map((a) => [a.ok, a.status]), [[false, 500], [false, 503], [true, 200]]);
        assert.equal(JSON.stringify(delivery).includes('RECEIVER-PRIVATE-BODY'), false);
        assert.equal(new Set(hook.got.map((g) => g.headers['webhook-id'])).size, 1, 'one delivery id across attempts');
      });
    } finally {
      await hook.close();
    }
  });

  it('does not follow a redirect, inward or not', async () => {
    const inner = await receiver();
    const hook = await receiver([302], (res) => res.setHeader('location', inner.url));
    try {
      await withRuntime({ webhooks: { allowPrivateNetworks: true, delayMs: 5, maxAttempts: 1 } }, async (rt) => {
        rt.define('t', { handler: () => 1 });
        const failed = until(rt, 'webhook:failed');
        const handle = await rt.submit('t', null, { webhook: { url: hook.url, secret: SECRET } });
        await failed;
        assert.equal(inner.got.length, 0);
        assert.match(rt.webhookHistory(handle.id)[0]?.attempts[0]?.error ?? '', /redirect \(302\) not followed/);
      });
    } finally {
      await hook.close();
      await inner.close();
    }
  });

  it('refuses loopback, private, link-local, metadata and IPv4-mapped addresses unless allowed', () =>
    withRuntime({}, async (rt) => {
      rt.define('t', { handler: () => 1 });
      for (const url of ['http://127.0.0.1:9/x', 'http://169.254.169.254/latest/meta-data', 'http://[::ffff:127.0.0.1]/x', 'http://10.0.0.5/x', 'http://[::1]/x', 'http://localhost/x', 'ftp://example.com/x']) {
        await assert.rejects(rt.submit('t', null, { webhook: { url, secret: 's' } }), (e: unknown) => isStewardError(e, 'STEWARD_INVALID_OPTIONS') && /options\.webhook\.url/.test(e.message), url);
      }
    }));

  // This sandbox has no DNS server, so a resolver stands in for one: it answers for
  // "internal.example" with a loopback address, as a rebinding attacker's DNS would.
  it('refuses at delivery a name that resolves to a loopback address', () =>
    withRuntime({ webhooks: { delayMs: 5, resolve: async () => [{ address: '127.0.0.1', family: 4 }] } }, async (rt) => {
      rt.define('t', { handler: () => 1 });
      const failed = until(rt, 'webhook:failed');
      const handle = await rt.submit('t', null, { webhook: { url: 'http://internal.example:9/hook', secret: 's' } });
      await failed;
      const [delivery] = rt.webhookHistory(handle.id);
      assert.equal(delivery?.state, 'failed');
      assert.equal(delivery?.attempts.length, 1, 'a blocked address is not retried');
      assert.match(delivery?.attempts[0]?.error ?? '', /loopback/);
    }));

  it('delivers a workflow’s outcome', async () => {
    const hook = await receiver();
    try {
      await withRuntime(local, async (rt) => {
        rt.define('t', { handler: () => 'done' });
        const delivered = until(rt, 'webhook:delivered');
        const wf = await rt.workflow({ name: 'hooked', webhook: { url: hook.url, secret: SECRET }, phases: [{ id: 'p', tasks: [{ id: 'a', type: 't' }] }] });
        await delivered;
        const payload = JSON.parse(hook.got[0]?.body ?? '{}');
        assert.equal(payload.type, 'workflow.completed');
        assert.deepEqual(payload.data.results, { a: 'done' });
        assert.equal(rt.webhookHistory(wf.id)[0]?.state, 'delivered');
      });
    } finally {
      await hook.close();
    }
  });

  it('keeps retrying across a restart until the receiver is back', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'steward-hooks-'));
    const hook = await receiver();
    const url = hook.url;
    await hook.close(); // the receiver is down for now
    try {
      const first = await createRuntime({ dataDir: dir, webhooks: { allowPrivateNetworks: true, delayMs: 60_000 } });
      first.define('t', { handler: () => 'ok' });
      const failed = until(first, 'webhook:failed', false);
      const handle = await first.submit('t', null, { webhook: { url, secret: SECRET } });
      await failed;
      await first.shutdown();
      const port = Number(new URL(url).port);
      const back = createServer((req, res) => {
        req.resume();
        req.on('end', () => res.end());
      });
      await new Promise<void>((r) => back.listen(port, '127.0.0.1', r));
      try {
        // Restarted with a short delay: the pending delivery is due at its nextAt, which
        // the journal kept; for the test the second runtime's clock is moved past it.
        const start = Date.now() + 61_000;
        const second = await createRuntime({
          dataDir: dir,
          webhooks: { allowPrivateNetworks: true, delayMs: 60_000 },
          clock: { now: () => Date.now() + 61_000, setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) },
        });
        try {
          const delivered = until(second, 'webhook:delivered');
          await delivered;
          const [delivery] = second.webhookHistory(handle.id);
          assert.equal(delivery?.state, 'delivered');
          assert.deepEqual(delivery?.attempts.map((a) => a.ok), [false, true]);
          assert.ok((delivery?.attempts[1]?.at ?? 0) >= start - 1_000);
        } finally {
          await second.shutdown();
        }
      } finally {
        await new Promise((r) => back.close(r));
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
