import { isIP } from 'node:net';
import { blockedReason, isThisMachineName } from './address-guard.js';

/** Checks a webhook URL before anything is journaled: a clear error now beats a failed delivery later. */
export function checkWebhookUrl(url: string, allowPrivate: boolean): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'is not a URL';
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return 'must be http or https';
  if (parsed.username !== '' || parsed.password !== '') return 'must not carry credentials';
  if (allowPrivate) return undefined;
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  // Worded "must not ...", like the other checks, so the message reads after the path.
  if (isThisMachineName(host)) return `must not point at this machine (${host})`;
  if (isIP(host) !== 0) {
    const reason = blockedReason(host);
    if (reason !== undefined) return `must not point at a ${reason} address`;
  }
  return undefined;
}
