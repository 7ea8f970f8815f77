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
});
