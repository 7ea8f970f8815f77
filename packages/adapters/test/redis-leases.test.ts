import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { LeaseTable, type GateClaim } from '@steward/core';
import { RedisLeases } from '../src/cluster/redis-leases.js';
import { redisMissing, startRedis, type RedisServer } from './redis-server.js';

// The cluster's locks, keys and buckets in Redis (one Lua script per hold) against
// LeaseTable, the same rules in memory: on any sequence of holds and let-gos they answer
// alike, and a lease or a rate window runs out in Redis as it does in the table.

const missing = redisMissing();
let redis: RedisServer | undefined;
let connection: Redis | undefined;
if (missing === undefined) {
  before(async () => {
    redis = await startRedis();
    connection = new Redis({ host: '127.0.0.1', port: redis.port });
  });
  after(async () => {
    connection?.disconnect();
    await redis?.close();
  });
}

const CLAIMS: GateClaim[] = [
  { kind: 'lock', name: 'lock:a', mode: 'exclusive' },
  { kind: 'lock', name: 'lock:a', mode: 'shared' },
  { kind: 'lock', name: 'lock:b', mode: 'exclusive' },
  { kind: 'lock', name: 'lock:b', mode: 'shared' },
  { kind: 'slot', name: 'key:t\u0000k', limit: 2 },
  { kind: 'rate', name: 'rate:api', limit: 3, intervalMs: 3_600_000 },
  { kind: 'rate', name: 'rate:tokens', limit: 10, intervalMs: 3_600_000, cost: 4 },
  { kind: 'rate', name: 'rate:tokens', limit: 10, intervalMs: 3_600_000, cost: 7 },
  // Fractional costs, whose sums are not exact in Redis or in JS.
  { kind: 'rate', name: 'rate:frac', limit: 1, intervalMs: 3_600_000, cost: 0.1 },
  { kind: 'rate', name: 'rate:frac', limit: 1, intervalMs: 3_600_000, cost: 0.2 },
  { kind: 'rate', name: 'rate:frac', limit: 1, intervalMs: 3_600_000, cost: 1 / 3 },
];
const TOKENS = { kind: 'rate', name: 'rate:tokens', limit: 10, intervalMs: 3_600_000 } as const;

/** The claims one task asks for: each name at most once, as a task's own locks are; a weighted take is named `take`. */
function claimsOf(picks: number[], take: string): GateClaim[] {
  const seen = new Set<string>();
  const claims: GateClaim[] = [];
  for (const pick of picks) {
    const claim = CLAIMS[pick] as GateClaim;
    if (seen.has(claim.name)) continue;
    seen.add(claim.name);
    claims.push(claim.kind === 'rate' && claim.cost !== undefined ? { ...claim, take } : claim);
  }
  return claims;
}

describe('RedisLeases', { skip: missing }, () => {
  it('answers every sequence of holds, let-gos and usage reports as LeaseTable does', async () => {
    const op = fc.record({
      owner: fc.constantFrom('t1', 't2', 't3', 't4'),
      action: fc.constantFrom('hold', 'letGo', 'report'),
      picks: fc.array(fc.nat(CLAIMS.length - 1), { minLength: 1, maxLength: 3 }),
      delta: fc.integer({ min: -8, max: 4 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 40 }), async (ops) => {
        const leases = new RedisLeases(connection as Redis, `p-${randomUUID()}`, 3_600_000);
        const table = new LeaseTable();
        const held = new Map<string, GateClaim[]>();
        const takes: string[] = [];
        for (const [index, { owner, action, picks, delta }] of ops.entries()) {
          if (action === 'hold' && !held.has(owner)) {
            // Each hold's weighted takes get a name; now and then one asks again under the name of the last (a lost answer).
            const claims = claimsOf(picks, index % 3 === 2 && takes.length > 0 ? (takes.at(-1) as string) : `take-${index}`);
            const inRedis = await leases.hold(owner, claims);
            const inTable = table.hold(owner, claims, Date.now(), 3_600_000);
            assert.equal(inRedis.held, inTable.held, `hold ${owner} ${JSON.stringify(claims)}`);
            assert.equal('retryInMs' in inRedis, 'retryInMs' in inTable);
            if (inRedis.held) held.set(owner, claims);
            if (inRedis.held && claims.some((claim) => claim.kind === 'rate' && claim.take === `take-${index}`)) takes.push(`take-${index}`);
          } else if (action === 'letGo' && held.has(owner)) {
            const claims = held.get(owner) as GateClaim[];
            await leases.letGo(owner, claims);
            table.letGo(owner, claims);
            held.delete(owner);
          } else if (action === 'report' && delta !== 0) {
            // A report on the last two weighted takes: units given back, or more used.
            const change = { delta, takes: takes.slice(-2) };
            await leases.adjustRate(TOKENS, change);
            table.adjustRate(TOKENS, change, Date.now());
          }
        }
      }),
      { numRuns: 120 },
    );
  });

  it('a lease not renewed runs out, and a renewed one does not; a rate start leaves its window', async () => {
    const leases = new RedisLeases(connection as Redis, `p-${randomUUID()}`, 300);
    const lock: GateClaim[] = [{ kind: 'lock', name: 'lock:deploy', mode: 'exclusive' }];
    assert.equal((await leases.hold('dead', lock)).held, true);
    assert.equal((await leases.hold('other', lock)).held, false);
    const since = Date.now();
    while (!(await leases.hold('other', lock)).held) await new Promise((resolve) => setTimeout(resolve, 25));
    assert.ok(Date.now() - since >= 250, 'held again only once the lease ran out');
    assert.equal(await leases.renew('dead', lock), false, 'its lease had run out');
    // Renewed in time, it holds on past its first lease.
    for (let i = 0; i < 4; i++) {
      await new Promise((resolve) => setTimeout(resolve, 150));
      assert.equal(await leases.renew('other', lock), true);
    }
    assert.equal((await leases.hold('third', lock)).held, false);
    const bucket: GateClaim[] = [{ kind: 'rate', name: 'rate:api', limit: 1, intervalMs: 300 }];
    assert.equal((await leases.hold('a', bucket)).held, true);
    const refused = await leases.hold('b', bucket);
    assert.equal(refused.held, false);
    assert.ok(!refused.held && refused.retryInMs !== undefined && refused.retryInMs > 0 && refused.retryInMs <= 300);
    // The start leaves its window: the next one is taken, no sooner.
    const refusedAt = Date.now();
    while (!(await leases.hold('b', bucket)).held) await new Promise((resolve) => setTimeout(resolve, 25));
    assert.ok(Date.now() - refusedAt >= (refused.held ? 0 : (refused.retryInMs ?? 0)) - 50, 'not before the window let it');
  });

  it("a pause holds a bucket's takes until it ends", async () => {
    const leases = new RedisLeases(connection as Redis, `p-${randomUUID()}`, 30_000);
    const bucket = { kind: 'rate', name: 'rate:api', limit: 100, intervalMs: 1_000 } as const;
    await leases.adjustRate(bucket, { pauseMs: 300 });
    const refused = await leases.hold('a', [bucket]);
    assert.ok(!refused.held && refused.retryInMs !== undefined && refused.retryInMs > 0 && refused.retryInMs <= 300, JSON.stringify(refused));
    const since = Date.now();
    while (!(await leases.hold('a', [bucket])).held) await new Promise((resolve) => setTimeout(resolve, 25));
    assert.ok(Date.now() - since >= refused.retryInMs - 50, 'not before the pause ended');
  });

  it('a window whose takes have left counts nothing, also when a pause outlived them in the store', async () => {
    const leases = new RedisLeases(connection as Redis, `p-${randomUUID()}`, 30_000);
    const bucket = { kind: 'rate', name: 'rate:burst', limit: 2, intervalMs: 200, cost: 2 } as const;
    assert.equal((await leases.hold('a', [bucket])).held, true);
    // The takes' set expires about 1.2 s from now; the pause keeps the bucket's units hash for 2.5 s.
    await leases.adjustRate(bucket, { pauseMs: 1_500 });
    await new Promise((resolve) => setTimeout(resolve, 1_600));
    assert.deepEqual(await leases.hold('b', [bucket]), { held: true }, 'the pause is over and the window is empty: all 2 units fit');
  });
});
