import { createHmac, timingSafeEqual } from 'node:crypto';

/** The key bytes of a secret: a Standard Webhooks `whsec_<base64>` secret is decoded, any other string used as it is. */
function keyOf(secret: string): Buffer {
  return secret.startsWith('whsec_') ? Buffer.from(secret.slice(6), 'base64') : Buffer.from(secret, 'utf8');
}

/** The `webhook-signature` value for a delivery: `v1,<base64 HMAC-SHA256 of id.timestamp.body>`. */
export function signWebhook(id: string, timestamp: number, body: string, secret: string): string {
  return `v1,${createHmac('sha256', keyOf(secret)).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

/** Headers as a receiver gets them (Node's IncomingHttpHeaders, a Fetch Headers, or a plain object). */
export type WebhookHeaders = Record<string, string | string[] | undefined> | { get(name: string): string | null };

function header(headers: WebhookHeaders, name: string): string | undefined {
  if (typeof (headers as { get?: unknown }).get === 'function') return (headers as { get(name: string): string | null }).get(name) ?? undefined;
  const value = (headers as Record<string, string | string[] | undefined>)[name] ?? (headers as Record<string, string | string[] | undefined>)[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Checks a webhook the Standard Webhooks way, for receivers: the signature over
 * `webhook-id.webhook-timestamp.body` must match one of the `v1,` signatures, and the
 * timestamp must be within `toleranceSec` of now (no replays of old deliveries).
 * Pass the raw body exactly as received.
 */
export function verifyWebhook(
  headers: WebhookHeaders,
  body: string | Buffer,
  secret: string,
  options: { toleranceSec?: number; now?: number } = {},
): boolean {
  const id = header(headers, 'webhook-id');
  const timestamp = Number(header(headers, 'webhook-timestamp'));
  const signatures = header(headers, 'webhook-signature');
  if (id === undefined || signatures === undefined || !Number.isFinite(timestamp)) return false;
  const nowSec = Math.floor((options.now ?? Date.now()) / 1000);
  if (Math.abs(nowSec - timestamp) > (options.toleranceSec ?? 300)) return false;
  const expected = Buffer.from(signWebhook(id, timestamp, typeof body === 'string' ? body : body.toString('utf8'), secret).slice(3), 'base64');
  for (const candidate of signatures.split(' ')) {
    const [version, value] = candidate.split(',', 2);
    if (version !== 'v1' || value === undefined) continue;
    const given = Buffer.from(value, 'base64');
    if (given.length === expected.length && timingSafeEqual(given, expected)) return true;
  }
  return false;
}
