import assert from 'node:assert/strict';
import { executorConformance } from '../src/executors/conformance.js';
import { WORKERS } from './helpers.js';

executorConformance('the inline executor', {
  definitions: {
    result: { handler: (input: { n: number }) => ({ doubled: input.n * 2 }) },
    fails: { handler: () => { throw new Error('failing on purpose'); } },
    hangs: { handler: (_input, ctx) => new Promise((resolve) => ctx.signal.addEventListener('abort', () => resolve(null))) },
    progress: { handler: (_input, ctx) => { ctx.progress(50, 'half'); return 'done'; } },
    output: { handler: (_input, ctx) => { ctx.log('hello'); return 'done'; } },
  },
  expectResult: (result, input) => assert.deepEqual(result, { doubled: input.n * 2 }),
  failureCode: 'STEWARD_HANDLER_ERROR',
  crashNotApplicable: 'an inline handler runs on the host’s own thread: nothing of its own can crash apart from the host',
});

executorConformance('the worker executor', {
  runtimeOptions: { workers: { minThreads: 1, maxThreads: 1 } },
  definitions: {
    result: { module: WORKERS },
    fails: { module: WORKERS, export: 'fails' },
    hangs: { module: WORKERS, export: 'spin' },
    progress: { module: WORKERS, export: 'halfway' },
    output: { module: WORKERS, export: 'hello' },
    crashes: { module: WORKERS, export: 'exit' },
  },
  expectResult: (result, input) => assert.equal((result as { doubled: number }).doubled, input.n * 2),
  failureCode: 'STEWARD_HANDLER_ERROR',
  crashCode: 'STEWARD_WORKER_CRASHED',
});
