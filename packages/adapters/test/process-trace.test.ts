import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { context, createTraceState, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { withRuntime } from '@steward/core/testing';
import { processExecutor, type ProcessResult } from '../src/index.js';

// A real child process prints the trace context it finds in its environment.
const PRINT_ENV = ['-e', 'console.log(`${process.env.TRACEPARENT ?? "none"} ${process.env.TRACESTATE ?? "none"}`)'];

describe('trace context of a process task', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });

  before(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    trace.setGlobalTracerProvider(provider);
  });
  after(async () => {
    await provider.shutdown();
    trace.disable();
    context.disable();
  });
  beforeEach(() => exporter.reset());

  it('hands the child its attempt span as TRACEPARENT', () =>
    withRuntime({ executors: [processExecutor()] }, async (rt) => {
      rt.define('print-env', { command: process.execPath, args: PRINT_ENV });
      const result = await rt.run<ProcessResult>('print-env');
      const attempt = exporter.getFinishedSpans().find((s) => s.name === 'steward.attempt');
      assert.ok(attempt);
      const { traceId, spanId } = attempt.spanContext();
      assert.equal(result.stdoutTail.trim(), `00-${traceId}-${spanId}-01 none`);
    }));

  it('sets the attempt\'s TRACEPARENT over one the definition\'s env carries', () =>
    withRuntime({ executors: [processExecutor()] }, async (rt) => {
      const stale = '00-11111111111111111111111111111111-2222222222222222-01';
      rt.define('print-env', { command: process.execPath, args: PRINT_ENV, env: { TRACEPARENT: stale } });
      const result = await rt.run<ProcessResult>('print-env');
      const attempt = exporter.getFinishedSpans().find((s) => s.name === 'steward.attempt');
      assert.ok(attempt);
      assert.match(result.stdoutTail, new RegExp(`^00-${attempt.spanContext().traceId}-${attempt.spanContext().spanId}-01 `));
    }));

  it('passes the trace state on as TRACESTATE, under a parent that came from elsewhere (an incoming traceparent)', () =>
    withRuntime({ executors: [processExecutor()] }, async (rt) => {
      rt.define('print-env', { command: process.execPath, args: PRINT_ENV });
      const incoming = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1, isRemote: true, traceState: createTraceState('vendor=abc') };
      const handle = await context.with(trace.setSpanContext(ROOT_CONTEXT, incoming), () => rt.submit('print-env'));
      const result = (await handle.result()).result as ProcessResult;
      const attempt = exporter.getFinishedSpans().find((s) => s.name === 'steward.attempt');
      const task = exporter.getFinishedSpans().find((s) => s.name === 'steward.task print-env');
      assert.ok(attempt && task);
      assert.equal(task.parentSpanContext?.spanId, incoming.spanId);
      assert.equal(attempt.spanContext().traceId, incoming.traceId);
      assert.equal(result.stdoutTail.trim(), `00-${incoming.traceId}-${attempt.spanContext().spanId}-01 vendor=abc`);
    }));
});
