import { lookup as dnsLookup } from 'node:dns/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import type { Clock } from '../time/clock.js';
import type { RuntimeEvent } from '../events/events.js';
import type { NewRecord } from '../journal/journal-record.js';
import type { Logger } from '../model/logger.js';
import { WEBHOOK_DEFAULTS, type WebhookOptions, type WebhookResolver } from './webhook-options.js';
import type { TaskTable, WebhookDelivery } from '../journal/reducer.js';
import { blockedReason } from './address-guard.js';
import { signWebhook } from './webhook-signature.js';

/** Where an ended task's or workflow's outcome is POSTed, and the secret it is signed with. */
export interface WebhookTarget {
  url: string;
  secret: string;
}

/** What the dispatcher needs from the runtime. */
export interface WebhookHost {
  readonly table: TaskTable;
  readonly clock: Clock;
  commit(record: NewRecord): void;
  emit(event: RuntimeEvent): void;
  readonly logger: Logger;
  isOpen(): boolean;
}

/**
 * Durable webhook delivery: each outcome goes into a journaled outbox, and every
 * attempt's result is journaled too, so deliveries resume after a restart and the
 * history survives. A request is signed the Standard Webhooks way, sent to an
 * address resolved and checked here (no loopback, private, link-local or metadata
 * address unless allowed), pinned for the connection, with no redirect followed; of
 * the receiver's answer only the status is kept.
 */
export class WebhookDispatcher {
  readonly #host: WebhookHost;
  readonly #options: Required<Omit<WebhookOptions, 'resolve'>>;
  readonly #resolve: WebhookResolver;
  readonly #timers = new Map<string, unknown>();
  readonly #inFlight = new Set<{ destroy(): void }>();

  constructor(host: WebhookHost, options: WebhookOptions = {}) {
    this.#host = host;
    this.#options = {
      maxAttempts: options.maxAttempts ?? WEBHOOK_DEFAULTS.maxAttempts,
      delayMs: options.delayMs ?? WEBHOOK_DEFAULTS.delayMs,
      maxDelayMs: options.maxDelayMs ?? WEBHOOK_DEFAULTS.maxDelayMs,
      timeoutMs: options.timeoutMs ?? WEBHOOK_DEFAULTS.timeoutMs,
      allowPrivateNetworks: options.allowPrivateNetworks ?? WEBHOOK_DEFAULTS.allowPrivateNetworks,
    };
    this.#resolve = options.resolve ?? ((host) => dnsLookup(host, { all: true, verbatim: true }));
  }

  get allowPrivateNetworks(): boolean {
    return this.#options.allowPrivateNetworks;
  }

  /** Puts an outcome in the outbox and tries it at once. */
  enqueue(owner: { taskId: string } | { workflowId: string }, target: WebhookTarget, type: string, data: unknown, deliveryId: string): void {
    const at = this.#host.clock.now();
    const payload = { type, timestamp: new Date(at).toISOString(), data };
    this.#host.commit({ type: 'webhook:enqueued', at, deliveryId, ...owner, url: target.url, secret: target.secret, payload });
    this.#schedule(deliveryId, 0);
  }

  /** After recovery: every delivery still pending is tried again when it is due. */
  resume(): void {
    const now = this.#host.clock.now();
    for (const delivery of this.#host.table.deliveries.values()) {
      if (delivery.state === 'pending') this.#schedule(delivery.id, Math.max(0, (delivery.nextAt ?? now) - now));
    }
  }

  /** Drops timers and abandons requests in flight (they are tried again after a restart). */
  stop(): void {
    for (const timer of this.#timers.values()) this.#host.clock.clearTimeout(timer);
    this.#timers.clear();
    for (const request of this.#inFlight) request.destroy();
    this.#inFlight.clear();
  }

  #schedule(deliveryId: string, delayMs: number): void {
    if (this.#timers.has(deliveryId)) return;
    this.#timers.set(
      deliveryId,
      this.#host.clock.setTimeout(() => {
        this.#timers.delete(deliveryId);
        void this.#attempt(deliveryId);
      }, delayMs),
    );
  }

  async #attempt(deliveryId: string): Promise<void> {
    const delivery = this.#host.table.deliveries.get(deliveryId);
    if (delivery === undefined || delivery.state !== 'pending' || !this.#host.isOpen()) return;
    const attempt = delivery.attempts.length + 1;
    let status: number | undefined;
    let error: string | undefined;
    let retryable = true;
    try {
      status = await this.#send(delivery);
      if (status < 200 || status >= 300) error = status >= 300 && status < 400 ? `redirect (${status}) not followed` : `receiver answered ${status}`;
    } catch (caught) {
      const e = caught as { message?: string; blocked?: boolean };
      error = e.message ?? String(caught);
      // A blocked address will not become allowed by waiting.
      if (e.blocked === true) retryable = false;
    }
    if (!this.#host.isOpen()) return; // shutting down: the attempt is not recorded and runs again after a restart
    const at = this.#host.clock.now();
    const ok = error === undefined;
    const final = ok || !retryable || attempt >= this.#options.maxAttempts;
    const delay = Math.min(this.#options.maxDelayMs, this.#options.delayMs * 2 ** (attempt - 1));
    this.#host.commit({
      type: 'webhook:attempted',
      at,
      deliveryId,
      attempt,
      ok,
      final,
      ...(status === undefined ? {} : { status }),
      ...(error === undefined ? {} : { error }),
      ...(final ? {} : { nextAt: at + delay }),
    });
    const owner = delivery.taskId !== undefined ? { taskId: delivery.taskId } : { taskId: undefined, workflowId: delivery.workflowId };
    if (ok) this.#host.emit({ type: 'webhook:delivered', ...owner, deliveryId, attempt, status: status as number, at } as RuntimeEvent);
    else this.#host.emit({ type: 'webhook:failed', ...owner, deliveryId, attempt, final, error: error as string, at } as RuntimeEvent);
    if (!final) this.#schedule(deliveryId, delay);
  }

  /** One POST: resolve, check, pin, sign, send; resolves with the status code. */
  async #send(delivery: WebhookDelivery): Promise<number> {
    const url = new URL(delivery.url);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const addresses = isIP(host) !== 0 ? [{ address: host, family: isIP(host) }] : await this.#resolve(host);
    if (addresses.length === 0) throw new Error(`${host} did not resolve`);
    if (!this.#options.allowPrivateNetworks) {
      for (const { address } of addresses) {
        const reason = blockedReason(address);
        if (reason !== undefined) throw Object.assign(new Error(`${host} resolves to ${address}, a ${reason} address: refused`), { blocked: true });
      }
    }
    // Pinned: the connection goes to the address checked above, whatever DNS says next.
    const pinned = addresses[0] as { address: string; family: number };
    const lookup: LookupFunction = (_hostname, options, callback) => {
      if ((options as { all?: boolean }).all === true) (callback as (e: null, a: Array<{ address: string; family: number }>) => void)(null, [pinned]);
      else callback(null, pinned.address, pinned.family);
    };
    const body = JSON.stringify(delivery.payload);
    const timestamp = Math.floor(this.#host.clock.now() / 1000);
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'steward-webhooks',
      'webhook-id': delivery.id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signWebhook(delivery.id, timestamp, body, delivery.secret),
    };
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<number>((resolve, reject) => {
      const request = send(url, { method: 'POST', headers, lookup, agent: false, timeout: this.#options.timeoutMs }, (response: IncomingMessage) => {
        // The receiver's body is read and dropped: never stored, never echoed back.
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
        response.on('error', reject);
      });
      this.#inFlight.add(request);
      request.on('close', () => this.#inFlight.delete(request));
      request.on('timeout', () => request.destroy(new Error(`no answer within ${this.#options.timeoutMs} ms`)));
      request.on('error', reject);
      request.end(body);
    });
  }
}
