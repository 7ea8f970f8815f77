import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRuntime, isStewardErrorCode, StewardError } from '@steward/core';
import { createHttpHost } from '../src/index.js';
import { HttpError, statusOf } from '../src/http/errors.js';
import { embeddedBackend } from '../src/mcp/backend.js';
import { CliError } from '../src/client/client.js';
import { parseDuration } from '../src/cli/format.js';

/** A StewardError with `code`, a code of the one list. */
const stewardError = (code: string) => (error: unknown) => {
  assert.ok(error instanceof StewardError, `not a StewardError: ${String(error)}`);
  assert.equal(error.code, code);
  assert.ok(isStewardErrorCode(error.code));
  return true;
};

describe('errors of the adapters are StewardErrors', () => {
  it('HttpError is a StewardError and carries the HTTP status of its code', () => {
    const forbidden = new HttpError('STEWARD_FORBIDDEN', 'Origin "x" may not call this server');
    assert.ok(forbidden instanceof StewardError);
    assert.equal(forbidden.code, 'STEWARD_FORBIDDEN');
    assert.equal(forbidden.status, 403);
    assert.equal(new HttpError('STEWARD_UNSUPPORTED_MEDIA_TYPE', 'send application/json').status, 415);
    assert.equal(new HttpError('STEWARD_INVALID_OPTIONS', 'body.type: required', 'body.type').path, 'body.type');
    assert.equal(statusOf('STEWARD_INTERNAL'), 500);
  });

  it('createHttpHost refuses a short token with STEWARD_INVALID_OPTIONS', async () => {
    const rt = await createRuntime();
    try {
      await assert.rejects(createHttpHost(rt, { token: 'short', port: 0 }), stewardError('STEWARD_INVALID_OPTIONS'));
      await assert.rejects(createHttpHost(rt, { token: 42 as never, port: 0 }), stewardError('STEWARD_INVALID_OPTIONS'));
    } finally {
      await rt.shutdown();
    }
  });

  it('the MCP tools on an embedded runtime answer an unknown id with the not-found StewardErrors', async () => {
    const rt = await createRuntime();
    const backend = embeddedBackend(rt);
    try {
      await assert.rejects(backend.status('nope'), stewardError('STEWARD_TASK_NOT_FOUND'));
      await assert.rejects(backend.logs('nope'), stewardError('STEWARD_TASK_NOT_FOUND'));
      await assert.rejects(backend.workflowStatus('nope'), stewardError('STEWARD_WORKFLOW_NOT_FOUND'));
      await assert.rejects(backend.workflowStart('nope'), stewardError('STEWARD_WORKFLOW_NOT_FOUND'));
    } finally {
      await backend.close();
    }
  });

  it("the CLI's errors are StewardErrors: a server's unknown code becomes STEWARD_INTERNAL and stays in the message", () => {
    const noServer = new CliError('STEWARD_NO_SERVER', 'no running server found');
    assert.ok(noServer instanceof StewardError);
    assert.equal(noServer.code, 'STEWARD_NO_SERVER');
    const proxy = new CliError('HTTP_502', 'Bad Gateway');
    assert.ok(proxy instanceof StewardError);
    assert.equal(proxy.code, 'STEWARD_INTERNAL');
    assert.equal(proxy.serverCode, 'HTTP_502');
    assert.match(proxy.message, /HTTP_502/);
    assert.throws(() => parseDuration('soon'), stewardError('STEWARD_INVALID_OPTIONS'));
  });
});
