import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { HttpError } from './errors.js';

/**
 * The checks every request passes. `Host` must name this server (a DNS-rebinding
 * page reaches us under its own name, and is refused); an `Origin`, when sent, must
 * be this server's own; every `/api` route needs the bearer token.
 */
export class RequestGuard {
  readonly #token: Buffer;
  readonly #hosts: Set<string>;

  constructor(token: string, hosts: Iterable<string>) {
    this.#token = Buffer.from(token);
    this.#hosts = new Set([...hosts].map((h) => h.toLowerCase()));
  }

  /** Adds the names this server answers to once its port is known. */
  allow(hosts: Iterable<string>): void {
    for (const host of hosts) this.#hosts.add(host.toLowerCase());
  }

  check(request: FastifyRequest): void {
    const host = (request.headers.host ?? '').toLowerCase();
    if (!this.#hosts.has(host)) throw new HttpError('STEWARD_FORBIDDEN', `Host "${host}" is not this server`);
    const origin = request.headers.origin;
    if (origin !== undefined && origin !== 'null') {
      let originHost: string;
      try {
        originHost = new URL(origin).host.toLowerCase();
      } catch {
        throw new HttpError('STEWARD_FORBIDDEN', 'Origin is not a URL');
      }
      if (!this.#hosts.has(originHost)) throw new HttpError('STEWARD_FORBIDDEN', `Origin "${origin}" may not call this server`);
    } else if (origin === 'null') {
      throw new HttpError('STEWARD_FORBIDDEN', 'an opaque Origin may not call this server');
    }
    const path = request.url.split('?')[0] ?? '';
    if (path === '/api' || path.startsWith('/api/')) this.#checkToken(request, path);
  }

  #checkToken(request: FastifyRequest, path: string): void {
    const header = request.headers.authorization;
    let given: string | undefined;
    if (header !== undefined && header.startsWith('Bearer ')) given = header.slice(7).trim();
    // EventSource cannot send headers: the event stream also takes the token in the query.
    if (given === undefined && path === '/api/events') given = new URL(request.url, 'http://x').searchParams.get('access_token') ?? undefined;
    if (given === undefined) throw new HttpError('STEWARD_UNAUTHORIZED', 'missing bearer token (Authorization: Bearer <token>; see the token file in the data directory)');
    const bytes = Buffer.from(given);
    if (bytes.length !== this.#token.length || !timingSafeEqual(bytes, this.#token)) throw new HttpError('STEWARD_UNAUTHORIZED', 'wrong bearer token');
  }
}
