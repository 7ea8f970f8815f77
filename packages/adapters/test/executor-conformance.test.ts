import assert from 'node:assert/strict';
import { after } from 'node:test';
import { fileURLToPath } from 'node:url';
import { executorConformance } from '@steward/core/conformance';
import { processExecutor, type ProcessResult } from '../src/index.js';
import { liveProcessesMatching } from './processes.js';

const BEHAVE = fileURLToPath(new URL('../../test/fixtures/behave.mjs', import.meta.url));
const node = (mode: string) => ({ command: process.execPath, args: [BEHAVE, mode] });

executorConformance('the process executor', {
  runtimeOptions: { executors: [processExecutor({ killGraceMs: 500 })] },
  definitions: {
    result: { command: process.execPath, args: (input: { n: number }) => [BEHAVE, 'double', String(input.n)] },
    fails: node('fail'),
    hangs: node('hang'),
    progress: { command: process.execPath, args: ['-e', "console.log('##steward:progress 50 half')"] },
    output: { command: process.execPath, args: ['-e', "console.log('hello')"] },
    crashes: node('segv'),
  },
  expectResult: (result, input) => assert.equal((result as ProcessResult).stdoutTail, `${input.n * 2}\n`),
  failureCode: 'STEWARD_PROCESS_EXIT',
  crashCode: 'STEWARD_PROCESS_EXIT',
});

after(() => {
  const left = liveProcessesMatching('behave.mjs');
  assert.deepEqual(left, [], `processes left behind: ${left.join(', ')}`);
});
