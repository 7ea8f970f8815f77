import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as main from '@steward/core';
import * as conformance from '@steward/core/conformance';
import * as executor from '@steward/core/executor';

describe('the @steward/core/executor entry', () => {
  it('exports the task-error helpers and the conformance suite, the same objects as the other entries', () => {
    assert.equal(executor.TaskFailure, main.TaskFailure);
    assert.equal(executor.taskError, main.taskError);
    assert.equal(executor.toTaskError, main.toTaskError);
    assert.equal(executor.executorConformance, conformance.executorConformance);
    assert.deepEqual(Object.keys(executor).sort(), ['TaskFailure', 'executorConformance', 'taskError', 'toTaskError', 'traceEnv']);
  });

  it('its helpers make the TaskError an executor reports', () => {
    const error = executor.taskError('STEWARD_HANDLER_ERROR', 'broke', true);
    assert.equal(error.code, 'STEWARD_HANDLER_ERROR');
    assert.equal(error.retryable, true);
    assert.equal(executor.toTaskError(new executor.TaskFailure('nope', { code: 'E_NOPE', retryable: false })).code, 'E_NOPE');
  });

  it('types an executor written against it alone', () => {
    const inline: executor.Executor = {
      kind: 'noop',
      execute(request: executor.ExecutionRequest, sink: executor.ExecutionSink): void {
        void request;
        sink.succeeded(null);
      },
      close: async () => {},
    };
    assert.equal(inline.kind, 'noop');
  });
});
