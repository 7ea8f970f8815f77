import { InvalidOptionsError } from '@steward/core';
import type { RedisOptions } from 'ioredis';

/** Where Redis listens (ioredis options: host, port, password, db, tls...). */
export type RedisConnection = Pick<RedisOptions, 'host' | 'port' | 'password' | 'username' | 'db' | 'tls' | 'path'>;

/** A `redis://` or `rediss://` URL as ioredis options; anything else is refused with STEWARD_INVALID_OPTIONS. */
export function redisUrl(text: string): RedisConnection {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InvalidOptionsError(`bullmqTransport: connection "${text}" is not a URL; give redis://host:port`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new InvalidOptionsError(`bullmqTransport: connection "${text}" must start with redis:// or rediss://`);
  }
  const db = url.pathname.length > 1 ? Number(url.pathname.slice(1)) : undefined;
  if (db !== undefined && (!Number.isInteger(db) || db < 0)) throw new InvalidOptionsError(`bullmqTransport: "${url.pathname.slice(1)}" in "${text}" is not a database number`);
  return {
    host: url.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: url.port === '' ? 6379 : Number(url.port),
    ...(url.username === '' ? {} : { username: decodeURIComponent(url.username) }),
    ...(url.password === '' ? {} : { password: decodeURIComponent(url.password) }),
    ...(db === undefined ? {} : { db }),
    ...(url.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}
