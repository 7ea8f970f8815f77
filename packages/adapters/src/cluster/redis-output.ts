import type { NumberedChunk } from '@steward/core/transport';
import type { OutputChunk } from '@steward/core';
import type { Redis } from 'ioredis';

/** How long a task's output stays in Redis after its last chunk. */
const OUTPUT_TTL_MS = 24 * 60 * 60 * 1000;

// A task's output in Redis: a list of `<n>|<chunk as JSON>` and a hash with the next
// number and the bytes the list holds. ARGV: maxBytes, ttl, then one chunk per argument.
// Numbers go on from the last chunk stored for the task; the oldest chunks are dropped
// while the list holds more than maxBytes (never the last one).
const APPEND = `
local count = #ARGV - 2
local first = redis.call('HINCRBY', KEYS[2], 'next', count) - count + 1
local bytes = tonumber(redis.call('HGET', KEYS[2], 'bytes') or '0')
for i = 3, #ARGV do
  redis.call('RPUSH', KEYS[1], (first + i - 3) .. '|' .. ARGV[i])
  bytes = bytes + string.len(ARGV[i])
end
while bytes > tonumber(ARGV[1]) and redis.call('LLEN', KEYS[1]) > 1 do
  local old = redis.call('LPOP', KEYS[1])
  bytes = bytes - (string.len(old) - string.find(old, '|', 1, true))
end
redis.call('HSET', KEYS[2], 'bytes', bytes)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return first
`;

interface OutputCommands {
  stewardOutput(keyCount: number, ...args: Array<string | number>): Promise<number>;
}

/** The cluster's task output in Redis (see ClusterBackend.appendOutput). */
export class RedisOutput {
  readonly #redis: Redis & OutputCommands;
  readonly #prefix: string;

  constructor(redis: Redis, prefix: string) {
    redis.defineCommand('stewardOutput', { lua: APPEND });
    this.#redis = redis as Redis & OutputCommands;
    this.#prefix = prefix;
  }

  #key(taskId: string): string {
    return `${this.#prefix}:output:${taskId}`;
  }

  append(taskId: string, chunks: readonly OutputChunk[], maxBytes: number): Promise<number> {
    const key = this.#key(taskId);
    return this.#redis.stewardOutput(2, key, `${key}:meta`, maxBytes, OUTPUT_TTL_MS, ...chunks.map((chunk) => JSON.stringify([chunk.stream, chunk.data, chunk.at])));
  }

  async read(taskId: string): Promise<NumberedChunk[]> {
    const entries = await this.#redis.lrange(this.#key(taskId), 0, -1);
    return entries.map((entry) => {
      const bar = entry.indexOf('|');
      const [stream, data, at] = JSON.parse(entry.slice(bar + 1)) as [OutputChunk['stream'], string, number];
      return { n: Number(entry.slice(0, bar)), stream, data, at };
    });
  }
}
