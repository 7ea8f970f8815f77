import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LeaseTable, type GateClaim } from '../src/transport/lease-table.js';

// The rules of the cluster's locks, keys and rate starts, in memory (the Redis script
// is held to the same answers in @steward/adapters' redis-leases test).

const exclusive = (name: string): GateClaim => ({ kind: 'lock', name, mode: 'exclusive' });
const shared = (name: string): GateClaim => ({ kind: 'lock', name, mode: 'shared' });

describe('LeaseTable', () => {
  it('takes every claim at once or none: a task never holds some of its locks while it waits for others', () => {
    const table = new LeaseTable();
    assert.equal(table.hold('a', [exclusive('x')], 0, 1_000).held, true);
    assert.equal(table.hold('b', [exclusive('y'), exclusive('x')], 0, 1_000).held, false);
    // b took nothing: y is free for c.
    assert.equal(table.hold('c', [exclusive('y')], 0, 1_000).held, true);
  });

  it('lets shared holders share, and keeps an exclusive one alone', () => {
    const table = new LeaseTable();
    assert.equal(table.hold('r1', [shared('docs')], 0, 1_000).held, true);
    assert.equal(table.hold('r2', [shared('docs')], 0, 1_000).held, true);
    assert.equal(table.hold('w', [exclusive('docs')], 0, 1_000).held, false);
    table.letGo('r1', [shared('docs')]);
    table.letGo('r2', [shared('docs')]);
    assert.equal(table.hold('w', [exclusive('docs')], 0, 1_000).held, true);
    assert.equal(table.hold('r3', [shared('docs')], 0, 1_000).held, false);
  });

  it('gives a key as many holders as its limit', () => {
    const table = new LeaseTable();
    const slot: GateClaim = { kind: 'slot', name: 'key:t\u0000acme', limit: 2 };
    assert.equal(table.hold('a', [slot], 0, 1_000).held, true);
    assert.equal(table.hold('b', [slot], 0, 1_000).held, true);
    assert.equal(table.hold('c', [slot], 0, 1_000).held, false);
  });

  it('frees a lease not renewed once it runs out, and keeps a renewed one', () => {
    const table = new LeaseTable();
    assert.equal(table.hold('dead', [exclusive('x')], 0, 1_000).held, true);
    assert.equal(table.hold('live', [exclusive('y')], 0, 1_000).held, true);
    assert.equal(table.renew('live', [exclusive('y')], 900, 1_000), true);
    assert.equal(table.hold('other', [exclusive('x')], 999, 1_000).held, false);
    assert.equal(table.hold('other', [exclusive('x')], 1_000, 1_000).held, true, 'the dead holder lets go when its lease ends');
    assert.equal(table.hold('other', [exclusive('y')], 1_500, 1_000).held, false, 'renewed until 1,900');
    assert.equal(table.renew('dead', [exclusive('x')], 1_000, 1_000), false);
  });

  it('counts rate starts in a sliding window, and says when the next one fits', () => {
    const table = new LeaseTable();
    const bucket: GateClaim = { kind: 'rate', name: 'rate:api', limit: 2, intervalMs: 1_000 };
    assert.equal(table.hold('a', [bucket], 0, 60_000).held, true);
    assert.equal(table.hold('b', [bucket], 400, 60_000).held, true);
    assert.deepEqual(table.hold('c', [bucket], 500, 60_000), { held: false, retryInMs: 500 });
    assert.equal(table.hold('c', [bucket], 1_000, 60_000).held, true, 'the first start left the window');
    // A start is spent: letting go does not give it back.
    table.letGo('b', [bucket]);
    assert.equal(table.hold('d', [bucket], 1_100, 60_000).held, false);
  });

  it('weighs a take by its cost, says when enough units have left the window, and takes nothing on a refusal', () => {
    const table = new LeaseTable();
    const units = (cost: number, take?: string): GateClaim => ({ kind: 'rate', name: 'rate:tokens', limit: 10, intervalMs: 1_000, cost, ...(take === undefined ? {} : { take }) });
    assert.equal(table.hold('a', [units(4)], 0, 60_000).held, true);
    assert.equal(table.hold('b', [units(5)], 200, 60_000).held, true);
    // 9 of 10 taken: 3 more fit once the first 4 have left, at 1,000.
    assert.deepEqual(table.hold('c', [units(3)], 300, 60_000), { held: false, retryInMs: 700 });
    // 8 fit only once both have left: at 1,200.
    assert.deepEqual(table.hold('c', [units(8)], 300, 60_000), { held: false, retryInMs: 900 });
    assert.equal(table.hold('c', [units(1)], 300, 60_000).held, true, 'the refusals took nothing');
  });

  it("trues up a window by a usage report: units given back from the named takes, newest first; extra units counted even past the limit", () => {
    const table = new LeaseTable();
    const bucket = { kind: 'rate', name: 'rate:tokens', limit: 10, intervalMs: 1_000 } as const;
    assert.equal(table.hold('h', [{ ...bucket, cost: 4, take: 't1' }], 0, 60_000).held, true);
    assert.equal(table.hold('h', [{ ...bucket, cost: 6, take: 't2' }], 100, 60_000).held, true);
    assert.equal(table.hold('x', [{ ...bucket, cost: 5 }], 200, 60_000).held, false);
    // The two takes used 3 units of their 10: 7 come back, from t2 first (6), then t1 (1).
    table.adjustRate(bucket, { delta: -7, takes: ['t1', 't2'] }, 200);
    assert.equal(table.hold('x', [{ ...bucket, cost: 7 }], 200, 60_000).held, true, '3 + 7 = 10');
    assert.deepEqual(table.hold('y', [{ ...bucket, cost: 1 }], 200, 60_000), { held: false, retryInMs: 800 }, 't1 keeps 3 units until it leaves at 1,000');
    // Units used beyond what was taken count at once, over the limit too.
    table.adjustRate(bucket, { delta: 5, takes: [] }, 1_000);
    assert.equal(table.hold('y', [{ ...bucket, cost: 1 }], 1_000, 60_000).held, false, '0 + 7 + 5 = 12 of 10');
    // A take that left the window gives nothing back.
    table.adjustRate(bucket, { delta: -3, takes: ['t1'] }, 1_000);
    assert.equal(table.hold('y', [{ ...bucket, cost: 1 }], 1_000, 60_000).held, false);
  });

  it('pauses a bucket: no take until the pause ends', () => {
    const table = new LeaseTable();
    const bucket = { kind: 'rate', name: 'rate:api', limit: 100, intervalMs: 1_000 } as const;
    table.adjustRate(bucket, { pauseMs: 5_000 }, 0);
    assert.deepEqual(table.hold('a', [bucket], 1_000, 60_000), { held: false, retryInMs: 4_000 });
    assert.equal(table.hold('a', [bucket], 5_000, 60_000).held, true);
  });

  it('holds a named take asked for again (its answer was lost) without counting it twice, however full the window', () => {
    const table = new LeaseTable();
    const take = { kind: 'rate', name: 'rate:tokens', limit: 10, intervalMs: 1_000, cost: 6, take: 'once' } as const;
    assert.equal(table.hold('h', [take], 0, 60_000).held, true);
    assert.equal(table.hold('h', [take], 10, 60_000).held, true, 'the same take: held, though 6 + 6 > 10');
    assert.equal(table.hold('x', [{ ...take, cost: 4, take: 'other' }], 10, 60_000).held, true, 'counted once: 6 + 4 = 10');
  });
});
