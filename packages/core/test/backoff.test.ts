import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffDelayMs, DEFAULT_RETRY_POLICY } from '../src/scheduling/backoff.js';
import { buildMultiReport, stableStringify } from '../src/reports/multi-report.js';

describe('backoff', () => {
  const policy = { ...DEFAULT_RETRY_POLICY, attempts: 10, delayMs: 100, maxDelayMs: 1_000, jitter: false };

  it('doubles exponential delays up to the cap', () => {
    assert.deepEqual([1, 2, 3, 4, 5, 6].map((n) => backoffDelayMs(policy, n, Math.random)), [100, 200, 400, 800, 1_000, 1_000]);
  });

  it('keeps fixed delays fixed', () => {
    assert.deepEqual([1, 5].map((n) => backoffDelayMs({ ...policy, backoff: 'fixed' }, n, Math.random)), [100, 100]);
  });

  it('spreads jittered delays over the upper half of the delay', () => {
    const jittered = { ...policy, jitter: true };
    assert.equal(backoffDelayMs(jittered, 3, () => 0), 200);
    assert.equal(backoffDelayMs(jittered, 3, () => 0.999_999), 400);
  });
});

describe('executeMultiple report', () => {
  it('computes percentiles by nearest rank over run times', () => {
    const outcomes = [10, 20, 30, 40].map((d, i) => ({
      taskId: String(i),
      status: 'completed' as const,
      result: 1,
      startedAt: 1_000,
      endedAt: 1_000 + d,
      attempts: 1,
    }));
    const report = buildMultiReport(outcomes, 900);
    assert.equal(report.p50DurationMs, 20);
    assert.equal(report.p95DurationMs, 40);
    assert.equal(report.averageDurationMs, 25);
    assert.equal(report.totalDurationMs, 140);
    assert.equal(report.successRate, 100);
  });

  it('compares results by value, whatever the key order', () => {
    assert.equal(stableStringify({ a: 1, b: [1, { c: 2, d: 3 }] }), stableStringify({ b: [1, { d: 3, c: 2 }], a: 1 }));
    assert.notEqual(stableStringify({ a: 1 }), stableStringify({ a: '1' }));
  });
});
