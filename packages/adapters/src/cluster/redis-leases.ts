import { randomUUID } from 'node:crypto';
import type { GateClaim, HoldAnswer, RateChange, RateClaim } from '@steward/core';
import type { Redis } from 'ioredis';

// A bucket's window: KEYS[i] is a sorted set of its takes (member: the take's name, score:
// when it was taken) and KEYS[i] .. ':u' a hash of each take's units, their sum ('=') and
// when a pause ends ('!'). WINDOW drops the takes that left it and answers the hash's key,
// the sum and the pause; TAKE adds a take (once per name); KEEP only ever lengthens a key's
// life. Units are compared with a tolerance of 1e-9, as LeaseTable does.
const WINDOW = `
local function keep(k, ms)
  if redis.call('PTTL', k) < ms then redis.call('PEXPIRE', k, ms) end
end
local function window(key, now, interval)
  local u = key .. ':u'
  local gone = redis.call('ZRANGEBYSCORE', key, '-inf', now - interval)
  if #gone > 0 then
    local sum = tonumber(redis.call('HGET', u, '=') or '0')
    for _, m in ipairs(gone) do
      sum = sum - tonumber(redis.call('HGET', u, m) or '0')
      redis.call('HDEL', u, m)
    end
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now - interval)
    redis.call('HSET', u, '=', sum)
  end
  local paused = tonumber(redis.call('HGET', u, '!') or '0')
  if redis.call('ZCARD', key) == 0 then
    -- No take in the window (or the takes expired before their units): nothing counts.
    redis.call('DEL', u)
    if paused > now then
      redis.call('HSET', u, '!', paused)
      keep(u, paused - now + 1000)
    end
    return u, 0, paused
  end
  return u, tonumber(redis.call('HGET', u, '=') or '0'), paused
end
local function take(key, u, id, units, now, interval, paused)
  if redis.call('ZSCORE', key, id) then return end
  redis.call('ZADD', key, now, id)
  redis.call('HSET', u, id, units)
  redis.call('HINCRBYFLOAT', u, '=', units)
  local ms = math.max(interval, paused - now) + 1000
  keep(key, ms)
  keep(u, ms)
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

// The rules of LeaseTable (in @steward/core), in Redis: every lock or key is a sorted
// set of holders `<x|s|k>|<owner>` scored by the end of their lease, every bucket a window
// as above. Time is Redis's own (TIME), so the nodes' clocks need not agree. ARGV: owner,
// leaseMs, then five per claim (kind, mode or limit, interval, cost, take name or ''), in
// the order of KEYS.
const HOLD = `${WINDOW}
local owner, lease = ARGV[1], tonumber(ARGV[2])
local wait = -1
for i = 1, #KEYS do
  local o = 5 * i - 2
  local kind, a, b, key = ARGV[o], ARGV[o + 1], tonumber(ARGV[o + 2]), KEYS[i]
  if kind == 'rate' then
    local u, sum, paused = window(key, now, b)
    local over = sum + tonumber(ARGV[o + 3]) - tonumber(a)
    if ARGV[o + 4] ~= '' and redis.call('ZSCORE', key, ARGV[o + 4]) then
      -- this take is there already (asked again after a lost answer): held
    elseif paused > now then
      wait = math.max(wait, paused - now)
    elseif over > 1e-9 then
      local free = b
      local takes = redis.call('ZRANGE', key, 0, -1, 'WITHSCORES')
      for j = 1, #takes, 2 do
        over = over - tonumber(redis.call('HGET', u, takes[j]) or '0')
        if over <= 1e-9 then
          free = tonumber(takes[j + 1]) + b - now
          break
        end
      end
      wait = math.max(wait, free)
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
  local o = 5 * i - 2
  local kind, a, b, key = ARGV[o], ARGV[o + 1], tonumber(ARGV[o + 2]), KEYS[i]
  if kind == 'rate' then
    local id = ARGV[o + 4]
    if id == '' then id = owner .. '|' .. t[1] .. t[2] end
    local u, sum, paused = window(key, now, b)
    take(key, u, id, tonumber(ARGV[o + 3]), now, b, paused)
  else
    local mode = 's'
    if kind == 'slot' then mode = 'k' elseif a == 'exclusive' then mode = 'x' end
    redis.call('ZADD', key, now + lease, mode .. '|' .. owner)
    if redis.call('PTTL', key) < lease then redis.call('PEXPIRE', key, lease) end
  end
end
return {1, 0}
`;

// A bucket's window changed after the fact (LeaseTable.adjustRate). ARGV: interval, pause
// (ms, or -1), delta, the name of a take of extra units, then the takes to give back from.
const ADJUST = `${WINDOW}
local key, interval = KEYS[1], tonumber(ARGV[1])
local u, sum, paused = window(key, now, interval)
local pause, delta = tonumber(ARGV[2]), tonumber(ARGV[3])
if pause >= 0 then
  redis.call('HSET', u, '!', math.max(paused, now + pause))
  keep(u, pause + 1000)
elseif delta > 0 then
  take(key, u, ARGV[4], delta, now, interval, paused)
else
  local back = -delta
  for i = #ARGV, 5, -1 do
    if back <= 0 then break end
    local units = redis.call('HGET', u, ARGV[i])
    if units then
      local given = math.min(back, tonumber(units))
      redis.call('HSET', u, ARGV[i], tonumber(units) - given)
      redis.call('HINCRBYFLOAT', u, '=', -given)
      back = back - given
    end
  end
end
return 1
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
  stewardAdjust(keyCount: number, ...args: Array<string | number>): Promise<number>;
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
    redis.defineCommand('stewardAdjust', { lua: ADJUST });
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
      if (claim.kind === 'lock') args.push('lock', claim.mode, 0, 0, '');
      else if (claim.kind === 'slot') args.push('slot', claim.limit, 0, 0, '');
      else args.push('rate', claim.limit, claim.intervalMs, claim.cost ?? 1, claim.take ?? '');
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

  async adjustRate(claim: RateClaim, change: RateChange): Promise<void> {
    const [pauseMs, delta, takes] = 'pauseMs' in change ? [Math.max(0, change.pauseMs), 0, []] : [-1, change.delta, change.takes];
    await this.#redis.stewardAdjust(1, this.#key(claim), claim.intervalMs, pauseMs, delta, `+|${randomUUID()}`, ...takes);
  }

  async letGo(owner: string, claims: readonly GateClaim[]): Promise<void> {
    await Promise.all(claims.filter((claim) => claim.kind !== 'rate').map((claim) => this.#redis.zrem(this.#key(claim), member(owner, claim))));
  }
}
