import type { GateClaim, HoldAnswer } from '@steward/core';
import type { Redis } from 'ioredis';

// The rules of LeaseTable (in @steward/core), in Redis: every lock or key is a sorted
// set of holders `<x|s|k>|<owner>` scored by the end of their lease, every bucket a
// sorted set of starts scored by when they were taken. Time is Redis's own (TIME), so the
// nodes' clocks need not agree. ARGV: owner, leaseMs, then three per claim (kind, mode or
// limit, interval), in the order of KEYS.
const HOLD = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local owner, lease = ARGV[1], tonumber(ARGV[2])
local wait = -1
for i = 1, #KEYS do
  local kind, a, b, key = ARGV[3 * i], ARGV[3 * i + 1], tonumber(ARGV[3 * i + 2]), KEYS[i]
  if kind == 'rate' then
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now - b)
    if redis.call('ZCARD', key) >= tonumber(a) then
      local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
      wait = math.max(wait, tonumber(oldest[2]) + b - now)
    end
  else
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
    local others, cap = 0, 1
    if kind == 'slot' then cap = tonumber(a) end
    for _, m in ipairs(redis.call('ZRANGE', key, 0, -1)) do
      local mode, who = string.sub(m, 1, 1), string.sub(m, 3)
      if who ~= owner and (kind == 'slot' or a == 'exclusive' or mode == 'x') then others = others + 1 end
    end
    if others >= cap then return {0, -1} end
  end
end
if wait >= 0 then return {0, wait} end
for i = 1, #KEYS do
  local kind, a, b, key = ARGV[3 * i], ARGV[3 * i + 1], tonumber(ARGV[3 * i + 2]), KEYS[i]
  if kind == 'rate' then
    redis.call('ZADD', key, now, owner .. '|' .. t[1] .. t[2])
    redis.call('PEXPIRE', key, b + 1000)
  else
    local mode = 's'
    if kind == 'slot' then mode = 'k' elseif a == 'exclusive' then mode = 'x' end
    redis.call('ZADD', key, now + lease, mode .. '|' .. owner)
    if redis.call('PTTL', key) < lease then redis.call('PEXPIRE', key, lease) end
  end
end
return {1, 0}
`;

// ARGV: leaseMs, then the holder's member in each KEYS set. 1 when every lease was still running.
const RENEW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease, all = tonumber(ARGV[1]), 1
for i = 1, #KEYS do
  local score = redis.call('ZSCORE', KEYS[i], ARGV[i + 1])
  if not score or tonumber(score) <= now then
    all = 0
  else
    redis.call('ZADD', KEYS[i], now + lease, ARGV[i + 1])
    if redis.call('PTTL', KEYS[i]) < lease then redis.call('PEXPIRE', KEYS[i], lease) end
  end
end
return all
`;

interface LeaseCommands {
  stewardHold(keyCount: number, ...args: Array<string | number>): Promise<[number, number]>;
  stewardRenew(keyCount: number, ...args: Array<string | number>): Promise<number>;
}

/** A holder's entry in a lock's or key's set. */
function member(owner: string, claim: GateClaim): string {
  const mode = claim.kind === 'slot' ? 'k' : claim.kind === 'lock' && claim.mode === 'exclusive' ? 'x' : 's';
  return `${mode}|${owner}`;
}

/** The cluster's locks, keys and rate buckets in Redis (see ClusterBackend.hold), one atomic script per hold. */
export class RedisLeases {
  readonly #redis: Redis & LeaseCommands;
  readonly #prefix: string;
  readonly leaseMs: number;

  constructor(redis: Redis, prefix: string, leaseMs: number) {
    redis.defineCommand('stewardHold', { lua: HOLD });
    redis.defineCommand('stewardRenew', { lua: RENEW });
    this.#redis = redis as Redis & LeaseCommands;
    this.#prefix = prefix;
    this.leaseMs = leaseMs;
  }

  #key(claim: GateClaim): string {
    return `${this.#prefix}:gate:${claim.name}`;
  }

  async hold(owner: string, claims: readonly GateClaim[]): Promise<HoldAnswer> {
    const args: Array<string | number> = [owner, this.leaseMs];
    for (const claim of claims) {
      if (claim.kind === 'lock') args.push('lock', claim.mode, 0);
      else if (claim.kind === 'slot') args.push('slot', claim.limit, 0);
      else args.push('rate', claim.limit, claim.intervalMs);
    }
    const [held, wait] = await this.#redis.stewardHold(claims.length, ...claims.map((claim) => this.#key(claim)), ...args);
    if (held === 1) return { held: true };
    return wait >= 0 ? { held: false, retryInMs: wait } : { held: false };
  }

  async renew(owner: string, claims: readonly GateClaim[]): Promise<boolean> {
    const leased = claims.filter((claim) => claim.kind !== 'rate');
    if (leased.length === 0) return true;
    const kept = await this.#redis.stewardRenew(leased.length, ...leased.map((claim) => this.#key(claim)), this.leaseMs, ...leased.map((claim) => member(owner, claim)));
    return kept === 1;
  }

  async letGo(owner: string, claims: readonly GateClaim[]): Promise<void> {
    await Promise.all(claims.filter((claim) => claim.kind !== 'rate').map((claim) => this.#redis.zrem(this.#key(claim), member(owner, claim))));
  }
}
