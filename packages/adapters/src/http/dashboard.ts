import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';

// A single page, no build step: plain HTML, CSS and script, fed by the REST API and
// the event stream. Read once; each answer gets a fresh nonce for its CSP.
const PAGE = readFileSync(new URL('../../../assets/dashboard.html', import.meta.url), 'utf8');

/** `GET /`: the live dashboard. The page asks for the token (or takes it from `#token=`). */
export function dashboardRoute(app: FastifyInstance): void {
  app.get('/', async (_request, reply) => {
    const nonce = randomBytes(16).toString('base64');
    return reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; style-src-attr 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'`)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .send(PAGE.replaceAll('__NONCE__', nonce));
  });
}
