import { randomUUID } from 'node:crypto';
import type { Take } from '../coordination/rate-buckets.js';
import type { RemoteGate } from '../coordination/remote-gate.js';
import type { ResolvedRuntimeOptions } from '../model/options.js';
import type { ResolvedDefinition } from '../model/task-definition.js';
import type { TaskRecord } from '../model/task-record.js';
import type { ClusterBackend } from './cluster-backend.js';
import type { GateClaim, HoldAnswer, RateChange, RateClaim } from './lease-table.js';

/** A waiter asks again at least this often (a lease of a dead node runs out without a word). */
const POLL_MS = 1_000;

/** What the gate needs from the node around it. */
export interface ClusterGateHost {
  readonly backend: ClusterBackend;
  readonly options: ResolvedRuntimeOptions;
  definitionOf(type: string): ResolvedDefinition | undefined;
}

/**
 * A cluster node's locks, per-key concurrency and rate buckets, held in the shared store
 * (`ClusterBackend.hold`) for the whole cluster: a task that declares any of them asks
 * the store for all of them at once before its attempt starts, holds them under a lease
 * this node renews while the attempt runs, and lets them go when it ends (every node is
 * told, so its waiters ask again). A node that dies stops renewing: its leases run out
 * after the backend's `leaseMs` (the stall interval) and the waiters elsewhere take them.
 * A running handler's units (`ctx.rateLimit`, `ctx.reportUsage`) and a bucket's pause
 * are the shared window's too. This node's handlers ask for units one after the other
 * per bucket (first come, first served here; between nodes, the first to ask once the
 * window has room).
 */
export class ClusterGate implements RemoteGate {
  readonly #host: ClusterGateHost;
  readonly #held = new Map<string, readonly GateClaim[]>();
  readonly #retryIn = new Map<string, number>();
  readonly #waiters = new Set<() => void>();
  /** Let-gos, usage reports and pauses on their way to the store. */
  readonly #sending = new Set<Promise<void>>();
  /** Per bucket, the last of this node's handlers to ask for units (the next one asks after it). */
  readonly #lines = new Map<string, Promise<void>>();
  #renewal: unknown;

  constructor(host: ClusterGateHost) {
    this.#host = host;
  }

  parkKey(task: TaskRecord): string | undefined {
    if (task.locks.length > 0) return `lock:${(task.locks[0] as TaskRecord['locks'][number]).name}`;
    if (task.concurrencyKey !== undefined && Number.isFinite(this.#host.definitionOf(task.type)?.keyConcurrency ?? Infinity)) return `key:${task.concurrencyKey}`;
    if (task.rateLimit !== undefined && Object.hasOwn(this.#host.options.rateLimits, task.rateLimit)) return `rate:${task.rateLimit}`;
    return undefined;
  }

  /** What `task` needs from the cluster, named as the store keeps it. */
  claims(task: TaskRecord): GateClaim[] {
    const claims: GateClaim[] = task.locks.map((lock) => ({ kind: 'lock', name: `lock:${lock.name}`, mode: lock.mode }));
    const keyLimit = this.#host.definitionOf(task.type)?.keyConcurrency ?? Infinity;
    if (task.concurrencyKey !== undefined && Number.isFinite(keyLimit)) {
      claims.push({ kind: 'slot', name: `key:${task.type}\u0000${task.concurrencyKey}`, limit: keyLimit });
    }
    if (task.rateLimit !== undefined && Object.hasOwn(this.#host.options.rateLimits, task.rateLimit)) claims.push(this.#rateClaim(task.rateLimit));
    return claims;
  }

  async ask(task: TaskRecord): Promise<boolean> {
    const claims = this.claims(task);
    const answer = await this.#host.backend.hold(task.id, claims);
    if (!answer.held) {
      if (answer.retryInMs === undefined) this.#retryIn.delete(task.id);
      else this.#retryIn.set(task.id, answer.retryInMs);
      return false;
    }
    this.#retryIn.delete(task.id);
    this.#held.set(task.id, claims);
    this.#armRenewal();
    return true;
  }

  changed(task: TaskRecord): Promise<void> {
    const retryIn = this.#retryIn.get(task.id);
    this.#retryIn.delete(task.id);
    return this.#wake(retryIn);
  }

  release(task: TaskRecord): void {
    const claims = this.#held.get(task.id);
    if (claims === undefined) return;
    this.#held.delete(task.id);
    const { backend, options } = this.#host;
    // A rate start stays spent; locks and keys come free, and every node's waiters hear it.
    const freeing = claims.filter((claim) => claim.kind !== 'rate');
    if (freeing.length === 0) return;
    this.#track(
      backend.letGo(task.id, freeing).then(() => backend.broadcast({ kind: 'freed' })),
      (error) => options.logger.warn(`steward: could not let go of the cluster locks of task "${task.id}" (their lease runs out by itself)`, error),
    );
  }

  take(bucket: string, cost: number, signal: AbortSignal, waiting: (until: number) => void): Promise<Take> {
    if (signal.aborted) return Promise.reject(signal.reason);
    const claim = this.#rateClaim(bucket, cost, randomUUID());
    let onAbort!: () => void;
    const aborted = new Promise<never>((_, reject) => signal.addEventListener('abort', (onAbort = () => reject(signal.reason)), { once: true }));
    aborted.catch(() => undefined);
    // After the handlers of this node that asked before; a stop ends the wait in line too,
    // but the next in line still waits for the one before (one asks at a time).
    const before = this.#lines.get(bucket) ?? Promise.resolve();
    const mine = Promise.race([before, aborted]).then(() => this.#takeWhenFree(claim, signal, waiting));
    const done = Promise.allSettled([before, mine]).then(() => undefined);
    void mine.catch(() => undefined).finally(() => signal.removeEventListener('abort', onAbort));
    this.#lines.set(bucket, done);
    void done.then(() => {
      if (this.#lines.get(bucket) === done) this.#lines.delete(bucket);
    });
    return mine;
  }

  adjust(bucket: string, takes: readonly Take[], delta: number): void {
    const ids = takes.flatMap((take) => (take.id === undefined ? [] : [take.id]));
    // Units given back may let a waiter anywhere go: every node hears of it.
    this.#send(bucket, { delta, takes: ids }, delta < 0);
  }

  pause(bucket: string, until: number): void {
    this.#send(bucket, { pauseMs: Math.max(0, until - this.#host.options.clock.now()) }, false);
  }

  /** Something was let go somewhere: every waiter asks again. */
  freed(): void {
    for (const wake of [...this.#waiters]) wake();
  }

  /** Stops renewing and wakes every waiter (admission stops asking); resolves once what was let go is in the store. */
  async stop(): Promise<void> {
    if (this.#renewal !== undefined) this.#host.options.clock.clearTimeout(this.#renewal);
    this.#renewal = undefined;
    this.freed();
    await Promise.all(this.#sending);
  }

  /** A bucket's claim: a start (one unit, named by the store), or `cost` units named `take`. */
  #rateClaim(bucket: string, cost?: number, take?: string): RateClaim {
    const { limit, intervalMs } = this.#host.options.rateLimits[bucket] as { limit: number; intervalMs: number };
    return { kind: 'rate', name: `rate:${bucket}`, limit, intervalMs, ...(cost === undefined ? {} : { cost }), ...(take === undefined ? {} : { take }) };
  }

  async #takeWhenFree(claim: RateClaim, signal: AbortSignal, waiting: (until: number) => void): Promise<Take> {
    const { backend, options } = this.#host;
    const id = claim.take as string;
    for (let first = true; ; first = false) {
      signal.throwIfAborted();
      let answer: HoldAnswer = { held: false };
      try {
        answer = await backend.hold(id, [claim]);
      } catch {
        // The store cannot be reached now: asked again in a while.
      }
      if (answer.held) {
        const take: Take = { at: options.clock.now(), units: claim.cost ?? 1, id };
        if (!signal.aborted) return take;
        this.adjust(claim.name.slice('rate:'.length), [take], -take.units); // stopped meanwhile: given back
        signal.throwIfAborted();
      }
      const retryIn = answer.held ? undefined : answer.retryInMs;
      if (first) waiting(options.clock.now() + (retryIn ?? POLL_MS));
      await this.#wake(retryIn, signal);
    }
  }

  /** Resolves when something was let go anywhere, after `retryIn` (at most the poll interval), or when `signal` aborts. */
  #wake(retryIn: number | undefined, signal?: AbortSignal): Promise<void> {
    const { clock } = this.#host.options;
    if (signal?.aborted === true) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = clock.setTimeout(() => wake(), Math.min(retryIn ?? POLL_MS, POLL_MS));
      const wake = () => {
        clock.clearTimeout(timer);
        this.#waiters.delete(wake);
        signal?.removeEventListener('abort', wake);
        resolve();
      };
      this.#waiters.add(wake);
      signal?.addEventListener('abort', wake, { once: true });
    });
  }

  #send(bucket: string, change: RateChange, freeing: boolean): void {
    const { backend, options } = this.#host;
    const sent = backend.adjustRate(this.#rateClaim(bucket), change);
    const what = 'pauseMs' in change ? 'pause' : 'report usage to';
    this.#track(freeing ? sent.then(() => backend.broadcast({ kind: 'freed' })) : sent, (error) => options.logger.warn(`steward: could not ${what} the cluster's bucket "${bucket}"`, error));
  }

  /** Keeps `sending` until it settles (stop waits for it); a failure goes to `failed`. */
  #track(sending: Promise<unknown>, failed: (error: unknown) => void): void {
    const tracked: Promise<void> = sending.then(() => undefined, failed).finally(() => this.#sending.delete(tracked));
    this.#sending.add(tracked);
  }

  /** While anything is held, its leases are renewed three times a lease. */
  #armRenewal(): void {
    if (this.#renewal !== undefined) return;
    const { backend, options } = this.#host;
    this.#renewal = options.clock.setTimeout(() => {
      this.#renewal = undefined;
      if (this.#held.size === 0) return;
      for (const [owner, claims] of this.#held) {
        backend.renew(owner, claims).then(
          (kept) => {
            if (!kept) options.logger.warn(`steward: the cluster lease of task "${owner}" ran out before it was renewed (this node stalled); another task may hold its locks too`);
          },
          () => undefined, // Redis away: renewed at the next turn, or the lease runs out as for a dead node
        );
      }
      this.#armRenewal();
    }, Math.max(1, Math.floor(backend.leaseMs / 3)));
  }
}
