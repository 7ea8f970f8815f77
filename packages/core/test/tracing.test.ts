import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { createRuntime, TaskFailure } from '../src/index.js';
import type { Executor, ExecutionRequest } from '../src/executor.js';
import { ManualClock, withRuntime } from '../src/testing.js';
import { settle } from './helpers.js';
import type { TracedWork } from './fixtures/traced-worker.js';

const TRACED = new URL('./fixtures/traced-worker.js', import.meta.url);

/** An executor (of kind `process`, so it takes `command` definitions) that keeps the requests it is handed. */
function recording(): { executor: Executor; requests: ExecutionRequest[] } {
  const requests: ExecutionRequest[] = [];
  const executor: Executor = {
    kind: 'process',
    execute(request, sink) {
      requests.push(request);
      sink.succeeded('ok');
    },
    close: async () => undefined,
  };
  return { executor, requests };
}

const parentOf = (span: ReadableSpan): string | undefined => span.parentSpanContext?.spanId;
const idOf = (span: ReadableSpan): string => span.spanContext().spanId;

describe('tracing without a tracer provider', () => {
  it('hands executors no trace context and runs tasks as usual', () => {
    // Nothing is registered with @opentelemetry/api in this process yet.
    const { executor, requests } = recording();
    return withRuntime({ executors: [executor] }, async (rt) => {
      rt.define('plain', { command: 'plain' });
      assert.equal(await rt.run('plain'), 'ok');
      assert.equal(requests.length, 1);
      assert.equal(requests[0]?.traceContext, undefined);
    });
  });
});

describe('tracing with a tracer provider', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const caller = trace.getTracer('caller');

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

  const spans = (name: string) => exporter.getFinishedSpans().filter((s) => s.name === name);

  it('makes a task span under the submitter\'s active span and an attempt span under it, with their attributes', () =>
    withRuntime({}, async (rt) => {
      rt.define('greet', { handler: (input: unknown) => `hello ${String(input)}` });
      const handle = await caller.startActiveSpan('caller', async (span) => {
        try {
          return await rt.submit('greet', 'otel');
        } finally {
          span.end();
        }
      });
      await handle.result();
      const [callerSpan] = spans('caller');
      const [task] = spans('steward.task greet');
      const [attempt] = spans('steward.attempt');
      assert.ok(callerSpan && task && attempt, exporter.getFinishedSpans().map((s) => s.name).join(', '));
      assert.equal(parentOf(task), idOf(callerSpan));
      assert.equal(task.spanContext().traceId, callerSpan.spanContext().traceId);
      assert.equal(parentOf(attempt), idOf(task));
      assert.equal(attempt.spanContext().traceId, callerSpan.spanContext().traceId);
      assert.deepEqual(task.attributes, { 'steward.task.id': handle.id, 'steward.task.type': 'greet', 'steward.status': 'completed' });
      assert.deepEqual(attempt.attributes, { 'steward.task.id': handle.id, 'steward.task.type': 'greet', 'steward.attempt': 1, 'steward.status': 'completed' });
    }));

  it('ends the attempt span of an attempt that parks on a durable wait as suspended, and the task span at the end', () =>
    withRuntime({}, async (rt) => {
      rt.define('review', { handler: async (_input: unknown, ctx) => ctx.waitForSignal('approval') });
      const handle = await rt.submit('review');
      await new Promise<void>((resolve) => {
        const subscription = rt.events$.subscribe((event) => {
          if (event.type !== 'task:waiting') return;
          subscription.unsubscribe();
          resolve();
        });
      });
      const parked = spans('steward.attempt');
      assert.equal(parked.length, 1, 'the first attempt span ended when the attempt parked');
      assert.equal(parked[0]?.attributes['steward.status'], 'suspended');
      assert.equal(spans('steward.task review').length, 0, 'the task goes on');
      await rt.signal(handle.id, 'approval', 'yes');
      await handle.result();
      assert.deepEqual(spans('steward.attempt').map((s) => s.attributes['steward.status']), ['suspended', 'completed']);
      assert.equal(spans('steward.task review')[0]?.attributes['steward.status'], 'completed');
    }));

  it('gives every retry its own attempt span under the one task span, with the error code of each failed attempt', () =>
    withRuntime({}, async (rt) => {
      rt.define('flaky', {
        retries: { attempts: 3, backoff: 'fixed', delayMs: 0, jitter: false },
        handler: (_input, ctx) => {
          if (ctx.attempt < 3) throw new TaskFailure(`try ${ctx.attempt}`, { code: 'FLAKY_UPSTREAM' });
          return 'third time';
        },
      });
      rt.define('broken', { handler: () => { throw new TaskFailure('no', { code: 'BAD_INPUT', retryable: false }); } });
      const flaky = await (await rt.submit('flaky')).result();
      const broken = await (await rt.submit('broken')).result();
      assert.equal(flaky.status, 'completed');
      assert.equal(broken.status, 'failed');

      const [flakyTask] = spans('steward.task flaky');
      assert.ok(flakyTask);
      assert.equal(flakyTask.parentSpanContext, undefined, 'submitted with no active span: a root span');
      const attempts = spans('steward.attempt').filter((s) => parentOf(s) === idOf(flakyTask));
      assert.deepEqual(
        attempts.map((s) => [s.attributes['steward.attempt'], s.attributes['steward.status'], s.attributes['steward.error.code']]),
        [[1, 'failed', 'FLAKY_UPSTREAM'], [2, 'failed', 'FLAKY_UPSTREAM'], [3, 'completed', undefined]],
      );
      assert.equal(flakyTask.attributes['steward.status'], 'completed');

      const [brokenTask] = spans('steward.task broken');
      assert.ok(brokenTask);
      const [brokenAttempt] = spans('steward.attempt').filter((s) => parentOf(s) === idOf(brokenTask));
      assert.equal(brokenAttempt?.attributes['steward.error.code'], 'BAD_INPUT');
      assert.equal(brokenAttempt?.status.code, 2 /* SpanStatusCode.ERROR */);
      assert.equal(brokenTask.attributes['steward.status'], 'failed');
      assert.equal(brokenTask.attributes['steward.error.code'], 'BAD_INPUT');
    }));

  it('nests the spans an inline handler makes under its attempt', () =>
    withRuntime({}, async (rt) => {
      rt.define('inner', {
        handler: async () => {
          await Promise.resolve();
          caller.startSpan('handler.inline').end();
          return 'done';
        },
      });
      await rt.run('inner');
      const [attempt] = spans('steward.attempt');
      const [inner] = spans('handler.inline');
      assert.ok(attempt && inner);
      assert.equal(parentOf(inner), idOf(attempt));
      assert.equal(inner.spanContext().traceId, attempt.spanContext().traceId);
    }));

  it('carries the attempt span into a worker thread, where a span the handler makes (with a provider registered there) nests under it', () =>
    withRuntime({ workers: { minThreads: 1, maxThreads: 1 } }, async (rt) => {
      rt.define('traced', { module: TRACED, export: 'tracedWork' });
      const seen = await rt.run<TracedWork>('traced');
      const [attempt] = spans('steward.attempt');
      assert.ok(attempt);
      assert.deepEqual(seen.active, { traceId: attempt.spanContext().traceId, spanId: idOf(attempt) });
      assert.deepEqual(seen.span, { name: 'handler.work', traceId: attempt.spanContext().traceId, parentSpanId: idOf(attempt) });
    }));

  it('hands an executor the attempt span as a W3C traceparent', () => {
    const { executor, requests } = recording();
    return withRuntime({ executors: [executor] }, async (rt) => {
      rt.define('cmd', { command: 'cmd' });
      await rt.run('cmd');
      const [attempt] = spans('steward.attempt');
      assert.ok(attempt);
      const { traceId, spanId } = attempt.spanContext();
      assert.deepEqual(requests[0]?.traceContext, { traceparent: `00-${traceId}-${spanId}-01` });
    });
  });

  it('keeps a workflow in one trace: every task of it under the span active where it was started', () =>
    withRuntime({}, async (rt) => {
      rt.define('step', { handler: async (input: unknown) => input });
      const wf = await caller.startActiveSpan('caller', async (span) => {
        try {
          return await rt.workflow({
            name: 'traced',
            phases: [
              { id: 'one', tasks: [{ id: 'a', type: 'step', input: 'a' }] },
              { id: 'two', dependsOn: ['one'], tasks: [{ id: 'b', type: 'step', input: 'b' }] },
            ],
          });
        } finally {
          span.end();
        }
      });
      assert.equal((await wf.result()).status, 'completed');
      const [callerSpan] = spans('caller');
      const byId = new Map(spans('steward.task step').map((s) => [s.attributes['steward.task.id'], s]));
      const { a, b } = wf.getStatus().tasks;
      const first = byId.get(a);
      const second = byId.get(b);
      assert.ok(callerSpan && first && second);
      assert.equal(parentOf(first), idOf(callerSpan));
      assert.equal(parentOf(second), idOf(callerSpan));
    }));

  it('starts a new trace for each firing of a schedule, whatever span is active when its timer fires', () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    return withRuntime({ clock }, async (rt) => {
      rt.define('tick', { handler: () => 'tock' });
      await caller.startActiveSpan('scheduler', async (span) => {
        await rt.schedule('every-minute', { every: 60_000, type: 'tick' });
        span.end();
      });
      let firing: string | undefined;
      rt.on('schedule:fired', (e) => (firing = e.taskId));
      await caller.startActiveSpan('unrelated', async (span) => {
        clock.advance(60_000);
        span.end();
      });
      await settle();
      assert.ok(firing);
      assert.equal((await rt.task(firing)?.result())?.status, 'completed');
      const task = spans('steward.task tick').find((s) => s.attributes['steward.task.id'] === firing);
      assert.ok(task);
      assert.equal(task.parentSpanContext, undefined, JSON.stringify(task.parentSpanContext));
    });
  });

  it('ends the spans of an attempt cut by shutdown, and after a restart starts the recovered task\'s spans without a parent', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'steward-tracing-'));
    try {
      const first = await createRuntime({ dataDir });
      let started!: () => void;
      const running = new Promise<void>((resolve) => (started = resolve));
      first.define('long', {
        handler: (_input, ctx) =>
          new Promise((_resolve, reject) => {
            started();
            ctx.signal.addEventListener('abort', () => reject(new Error('stopped')));
          }),
      });
      const handle = await caller.startActiveSpan('caller', async (span) => {
        try {
          return await first.submit('long');
        } finally {
          span.end();
        }
      });
      await running;
      await first.shutdown({ timeoutMs: 0 });
      const [cut] = spans('steward.task long');
      assert.ok(cut, 'the task span is ended at shutdown');
      assert.equal(cut.attributes['steward.status'], 'interrupted');
      assert.equal(spans('steward.attempt')[0]?.attributes['steward.status'], 'interrupted');
      exporter.reset();

      const second = await createRuntime({ dataDir, tasks: { long: { handler: () => 'resumed' } } });
      try {
        const resumed = second.task(handle.id);
        assert.ok(resumed);
        assert.equal((await resumed.result()).status, 'completed');
      } finally {
        await second.shutdown({ timeoutMs: 0 });
      }
      const [task] = spans('steward.task long');
      const [attempt] = spans('steward.attempt');
      assert.ok(task && attempt);
      assert.equal(task.parentSpanContext, undefined, 'no live parent after a restart: a new root span');
      assert.notEqual(task.spanContext().traceId, cut.spanContext().traceId);
      assert.equal(task.attributes['steward.task.id'], handle.id);
      assert.equal(parentOf(attempt), idOf(task));
      assert.equal(attempt.attributes['steward.attempt'], 2);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
