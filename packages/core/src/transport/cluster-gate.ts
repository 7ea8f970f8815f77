import type { RemoteGate } from '../coordination/remote-gate.js';
import type { ResolvedRuntimeOptions } from '../model/options.js';
import type { ResolvedDefinition } from '../model/task-definition.js';
import type { TaskRecord } from '../model/task-record.js';
import type { ClusterBackend } from './cluster-backend.js';
import type { GateClaim } from './lease-table.js';

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
 */
export class ClusterGate implements RemoteGate {
  readonly #host: ClusterGateHost;
  readonly #held = new Map<string, readonly GateClaim[]>();
  readonly #retryIn = new Map<string, number>();
  readonly #waiters = new Set<() => void>();
  /** Let-gos on their way to the store. */
  readonly #lettingGo = new Set<Promise<void>>();
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
    const bucket = task.rateLimit === undefined ? undefined : this.#host.options.rateLimits[task.rateLimit];
    if (bucket !== undefined) claims.push({ kind: 'rate', name: `rate:${task.rateLimit as string}`, limit: bucket.limit, intervalMs: bucket.intervalMs });
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
    const { clock } = this.#host.options;
    return new Promise((resolve) => {
      const retryIn = this.#retryIn.get(task.id);
      this.#retryIn.delete(task.id);
      const timer = clock.setTimeout(() => wake(), Math.min(retryIn ?? POLL_MS, POLL_MS));
      const wake = () => {
        clock.clearTimeout(timer);
        this.#waiters.delete(wake);
        resolve();
      };
      this.#waiters.add(wake);
    });
  }

  release(task: TaskRecord): void {
    const claims = this.#held.get(task.id);
    if (claims === undefined) return;
    this.#held.delete(task.id);
    const { backend, options } = this.#host;
    // A rate start stays spent; locks and keys come free, and every node's waiters hear it.
    const freeing = claims.filter((claim) => claim.kind !== 'rate');
    if (freeing.length === 0) return;
    const letting = backend
      .letGo(task.id, freeing)
      .then(() => backend.broadcast({ kind: 'freed' }))
      .catch((error: unknown) => options.logger.warn(`steward: could not let go of the cluster locks of task "${task.id}" (their lease runs out by itself)`, error))
      .finally(() => this.#lettingGo.delete(letting));
    this.#lettingGo.add(letting);
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
    await Promise.all(this.#lettingGo);
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
