import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { describe, it } from 'node:test';
import { isStewardError } from '../src/index.js';
import { withRuntime } from '../src/testing.js';
import { checkWebhookUrl } from '../src/webhooks/webhook-url.js';

// Names that mean this machine however they are spelled: refused when the task is
// submitted, with the option's path first, not only later when delivery resolves them.
const THIS_MACHINE = ['localhost.', 'LOCALHOST.', 'LocalHost', 'api.localhost.', hostname(), `${hostname()}.`, hostname().toUpperCase(), 'localhost.localdomain'];

describe('the webhook address check at submit', () => {
  it('refuses every spelling of this machine with the path options.webhook.url', () =>
    withRuntime({}, async (rt) => {
      rt.define('t', { handler: () => 1 });
      for (const name of THIS_MACHINE) {
        const url = `http://${name}:8080/hook`;
        await assert.rejects(
          rt.submit('t', null, { webhook: { url, secret: 's' } }),
          (e: unknown) => isStewardError(e, 'STEWARD_INVALID_OPTIONS') && /^options\.webhook\.url[: ]/.test(e.message) && /this machine/.test(e.message),
          url,
        );
      }
    }));

  it('refuses them for a workflow webhook too', () =>
    withRuntime({}, async (rt) => {
      for (const name of ['localhost.', hostname()]) {
        await assert.rejects(
          rt.createWorkflow({ name: 'w', webhook: { url: `https://${name}/hook`, secret: 's' } }),
          (e: unknown) => isStewardError(e, 'STEWARD_INVALID_OPTIONS') && /^workflow\.webhook\.url/.test(e.message),
          name,
        );
      }
    }));

  it('still accepts a public name that merely contains one of them', () => {
    for (const url of ['https://localhost.example.com/hook', `https://${hostname()}.example.com/hook`, 'https://example.com./hook']) {
      assert.equal(checkWebhookUrl(url, false), undefined, url);
    }
  });
});
