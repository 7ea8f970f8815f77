import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { Runtime } from '@steward/core';
import { dashboardView } from './dashboard/dashboard-view.js';

// A single page, no build step: plain HTML, CSS and script (src/http/dashboard/),
// read once and put together here; each answer gets a fresh nonce for its CSP.
const read = (name: string) => readFileSync(new URL(`../../../src/http/dashboard/${name}`, import.meta.url), 'utf8');
const PAGE = read('page.html')
  .replace('/*__STYLE__*/', () => read('dashboard.css'))
  .replace('/*__SCRIPT__*/', () => `${read('client.js')}\n${read('agent-panels.js')}`);

/** The page's icon: a small SVG, so a browser's request for `/favicon.ico` is answered. */
export const FAVICON_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#171d24"/>' +
  '<rect x="6" y="18" width="5" height="8" fill="#3fb950"/><rect x="13.5" y="12" width="5" height="14" fill="#3fb950"/>' +
  '<rect x="21" y="6" width="5" height="20" fill="#58a6ff"/></svg>';

/**
 * `GET /`: the live dashboard (the page asks for the token, or takes it from
 * `#token=`); `GET /favicon.ico`; `GET /api/dashboard`: everything the page shows in
 * one read, so it paints the last known state at once and then follows the event
 * stream. `commandType` is the task type that runs commands sent over HTTP, whose
 * command lines the page shows.
 */
export function dashboardRoute(app: FastifyInstance, rt: Runtime, commandType?: string): void {
  app.get('/', async (_request, reply) => {
    const nonce = randomBytes(16).toString('base64');
    return reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; style-src-attr 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'`)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .send(PAGE.replaceAll('__NONCE__', nonce));
  });
  app.get('/favicon.ico', async (_request, reply) =>
    reply.type('image/svg+xml').header('cache-control', 'public, max-age=86400').header('x-content-type-options', 'nosniff').send(FAVICON_SVG),
  );
  app.get('/api/dashboard', async () => dashboardView(rt, commandType));
}
