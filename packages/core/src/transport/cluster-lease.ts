import { randomUUID } from 'node:crypto';
import type { ResolvedRuntimeOptions } from '../model/options.js';
import type { ClusterBackend } from './cluster-backend.js';
import type { GateClaim } from './lease-table.js';

/** What a lease holder is told. */
export interface ClusterLeaseHooks {
  /** This node holds the lease now: it does the work. */
  gained(): void;
  /** It held the lease and does not any more (it stalled past it, or stops): it stops the work. */
  lost(): void;
}

/**
 * One node of the cluster doing a piece of work for all (firing schedules, delivering
 * webhooks): the one that holds the lease `name` in the shared store
 * (`ClusterBackend.hold`). The holder renews it three times a lease; the others ask for
 * it every half lease and whenever a lease is let go somewhere (`freed`). A holder that
 * stops lets it go and tells the others, so one of them takes over at once; one that
 * dies loses it when it runs out.
 */
export class ClusterLease {
  readonly #backend: ClusterBackend;
  readonly #options: ResolvedRuntimeOptions;
  readonly #claims: readonly GateClaim[];
  readonly #hooks: ClusterLeaseHooks;
  readonly #owner = randomUUID();
  #held = false;
  #closed = false;
  #timer: unknown;

  constructor(backend: ClusterBackend, options: ResolvedRuntimeOptions, name: string, hooks: ClusterLeaseHooks) {
    this.#backend = backend;
    this.#options = options;
    this.#claims = [{ kind: 'lock', name: `leader:${name}`, mode: 'exclusive' }];
    this.#hooks = hooks;
  }

  /** True while this node holds the lease. */
  get held(): boolean {
    return this.#held;
  }

  /** Starts asking for the lease. */
  start(): void {
    void this.#ask();
  }

  /** A lease was let go somewhere: this node asks at once. */
  freed(): void {
    if (!this.#held) void this.#ask();
  }

  /** Stops asking, and lets the lease go if held (the hooks' `lost` is called). */
  async stop(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) this.#options.clock.clearTimeout(this.#timer);
    if (!this.#held) return;
    this.#held = false;
    this.#hooks.lost();
    const backend = this.#backend;
    await backend
      .letGo(this.#owner, this.#claims)
      .then(() => backend.broadcast({ kind: 'freed' }))
      .catch(() => undefined); // the lease runs out by itself
  }

  async #ask(): Promise<void> {
    if (this.#closed || this.#held) return;
    let held = false;
    try {
      held = (await this.#backend.hold(this.#owner, this.#claims)).held;
    } catch {
      // the store cannot be reached now: asked again below
    }
    if (this.#closed) {
      // Taken just as this node stopped: let go at once, and the others told.
      if (held) await this.#backend.letGo(this.#owner, this.#claims).then(() => this.#backend.broadcast({ kind: 'freed' })).catch(() => undefined);
      return;
    }
    if (this.#held) return; // two asks at once: the other one got it
    if (this.#timer !== undefined) this.#options.clock.clearTimeout(this.#timer);
    if (!held) {
      this.#timer = this.#options.clock.setTimeout(() => void this.#ask(), Math.max(1, Math.floor(this.#backend.leaseMs / 2)));
      return;
    }
    this.#held = true;
    this.#hooks.gained();
    this.#renew();
  }

  #renew(): void {
    const backend = this.#backend;
    this.#timer = this.#options.clock.setTimeout(() => {
      this.#timer = undefined;
      if (this.#closed || !this.#held) return;
      backend.renew(this.#owner, this.#claims).then(
        (kept) => {
          if (this.#closed) return;
          if (kept) return this.#renew();
          this.#options.logger.warn(`steward: this node lost the lease ${this.#claims[0]?.name ?? ''} (it stalled); another node does that work now`);
          this.#held = false;
          this.#hooks.lost();
          void this.#ask();
        },
        () => {
          if (!this.#closed) this.#renew(); // the store away: renewed at the next turn, or the lease runs out as for a dead node
        },
      );
    }, Math.max(1, Math.floor(backend.leaseMs / 3)));
  }
}
