import { z } from 'zod';
import { fnSchema } from '../model/schemas.js';

/** Resolves a host name to its addresses. */
export type WebhookResolver = (host: string) => Promise<Array<{ address: string; family: number }>>;

/** Defaults of webhook delivery, the one place they are written. */
export const WEBHOOK_DEFAULTS = Object.freeze({
  maxAttempts: 8,
  delayMs: 1_000,
  maxDelayMs: 600_000,
  timeoutMs: 10_000,
  allowPrivateNetworks: false,
});

/** Validated shape of the `webhooks` option. */
export const webhookOptionsSchema = z.strictObject({
  maxAttempts: z.number().int().min(1).max(100).optional(),
  delayMs: z.number().int().min(0).optional(),
  maxDelayMs: z.number().int().min(0).optional(),
  timeoutMs: z.number().int().min(1).optional(),
  allowPrivateNetworks: z.boolean().optional(),
  resolve: fnSchema<WebhookResolver>().optional(),
});

/**
 * Options of webhook delivery (defaults in {@link WEBHOOK_DEFAULTS}):
 * - `maxAttempts`: attempts per delivery before it is given up (default 8).
 * - `delayMs`: first retry delay; it doubles each time (default 1_000).
 * - `maxDelayMs`: cap of the retry delay (default 600_000).
 * - `timeoutMs`: time allowed for one attempt (default 10_000).
 * - `allowPrivateNetworks`: let webhooks reach loopback, private, link-local and
 *   metadata addresses (tests, a receiver on this machine) (default false).
 * - `resolve`: how host names are resolved; every address is checked, the first is
 *   used (default: the system resolver).
 */
export type WebhookOptions = z.input<typeof webhookOptionsSchema>;
