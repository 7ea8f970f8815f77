import type { Clock } from '../time/clock.js';
import { LockTable } from './lock-table.js';
import { ParkingLot } from './parking-lot.js';
import { RateBuckets, type RateLimit, type Take } from './rate-buckets.js';
import { RemoteAdmission } from './remote-admission.js';
import type { RemoteGate } from './remote-gate.js';
import type { ResourceGuard } from './resource-guard.js';
import type { TaskRecord } from '../model/task-record.js';

/** Why a queued task is not running: what it is parked on. */
export type ParkReason = { kind: 'lock'; name: string } | { kind: 'rate'; bucket: string; until: number } | { kind: 'resources' };

/** What the engine hears from admission. */
export interface AdmissionHost {
  /** Tasks that may be admitted again (what they waited for was released). */
  requeue(tasks: TaskRecord[]): void;
  /** A task parked on something for the first time in this wait. */
  parked(task: TaskRecord, reason: ParkReason, now: number): void;
  /** A task waited past its `lockTimeoutMs`. */
  lockTimedOut(task: TaskRecord): void;
}

/** A running handler waiting in `ctx.rateLimit` for `cost` units. */
interface TokenWaiter {
  readonly cost: number;
  resolve(take: Take): void;
  reject(error: unknown): void;
}

function isBetter(a: TaskRecord, b: TaskRecord): boolean {
  return a.rank > b.rank || (a.rank === b.rank && a.order < b.order);
}

/**
 * Admission of queued tasks: everything a task declares must be free at once (its
 * locks, a token from its bucket, the resource guard's leave for its priority),
 * else it is parked on the first thing missing and the tasks behind it are looked
 * at. Waiters are served best first: a task may not take a lock ahead of a better
 * task parked on it, which is also what keeps a stream of shared holders from
 * starving an exclusive waiter (aging makes the waiter better in the end).
 */
export class Admission {
  readonly locks = new LockTable();
  readonly buckets: RateBuckets;
  readonly parked = new ParkingLot<TaskRecord>();
  readonly #clock: Clock;
  readonly #host: AdmissionHost;
  readonly #guard: ResourceGuard | undefined;
  readonly #protect: number;
  readonly #bucketTimers = new Map<string, unknown>();
  readonly #lockTimers = new Map<string, unknown>();
  /** When each task began waiting for locks (for metrics and `lock:acquired`). */
  readonly #lockWaitSince = new Map<string, number>();
  /** Tasks that waited for a token before their current start. */
  readonly #rateWaited = new Set<string>();
  readonly #tokenWaiters = new Map<string, TokenWaiter[]>();
  /** Tasks below `protect` admitted and not yet released (what the guard's floor counts). */
  belowProtectRunning = 0;
  #remote: RemoteAdmission | undefined;
  #agingMs: number;
  lockWaits = 0;
  lockWaitMs = 0;
  rateWaits = 0;

  constructor(options: { clock: Clock; host: AdmissionHost; rateLimits: Readonly<Record<string, RateLimit>>; guard?: ResourceGuard; protect: number; agingMs?: number }) {
    this.#agingMs = options.agingMs ?? 0;
    this.#clock = options.clock;
    this.#host = options.host;
    this.buckets = new RateBuckets(options.rateLimits);
    this.#guard = options.guard;
    this.#protect = options.protect;
  }

  /**
   * Tries to admit a task taken from the ready queue: false when it was parked (or
   * gave up waiting for its locks), else it may start with everything taken, and
   * `lockWaitMs` says how long it waited for its locks, if it did.
   */
  admit(task: TaskRecord, now: number): false | { lockWaitMs: number | undefined; rateLimited: boolean } {
    if (this.#guard?.throttled === true && task.priority < this.#protect && !this.#floorLets(task, now)) {
      this.parked.park('resources', task);
      this.#host.parked(task, { kind: 'resources' }, now);
      return false;
    }
    const remoteKey = this.#remote?.keyOf(task);
    if (remoteKey !== undefined) {
      // The cluster's locks, keys and buckets, not this process's.
      if (!(this.#remote as RemoteAdmission).admit(task, remoteKey)) return false;
      if (task.priority < this.#protect) this.belowProtectRunning++;
      return { lockWaitMs: this.#endLockWait(task, now), rateLimited: this.#rateWaited.delete(task.id) };
    }
    for (const request of task.locks) {
      const key = `lock:${request.name}`;
      const waiter = this.parked.peek(key);
      const conflict = this.locks.firstConflict([request]) !== undefined;
      if (conflict || (waiter !== undefined && isBetter(waiter.item, task))) {
        const since = this.#lockWaitSince.get(task.id);
        if (since !== undefined && task.lockTimeoutMs !== undefined && now - since >= task.lockTimeoutMs) {
          // Its deadline passed while it was between two waits: it gives up now.
          this.forget(task);
          this.#host.lockTimedOut(task);
          return false;
        }
        this.parked.park(key, task, request.mode);
        if (since === undefined) this.#waitForLock(task, request.name, now);
        return false;
      }
    }
    const bucket = task.rateLimit;
    if (bucket !== undefined) {
      const key = `rate:${bucket}`;
      const waiter = this.parked.peek(key);
      // Running handlers waiting in ctx.rateLimit() are served before new starts.
      const handlersWaiting = (this.#tokenWaiters.get(bucket)?.length ?? 0) > 0;
      if (handlersWaiting || (waiter !== undefined && isBetter(waiter.item, task)) || !this.buckets.tryTake(bucket, now)) {
        this.parked.park(key, task);
        this.rateWaits++;
        this.#rateWaited.add(task.id);
        const until = this.buckets.nextAt(bucket, now);
        this.#armBucket(bucket, until, now);
        this.#host.parked(task, { kind: 'rate', bucket, until }, now);
        return false;
      }
    }
    this.locks.acquire(task.id, task.locks);
    if (task.priority < this.#protect) this.belowProtectRunning++;
    const rateLimited = this.#rateWaited.delete(task.id);
    return { lockWaitMs: this.#endLockWait(task, now), rateLimited };
  }

  /**
   * From now on a task that needs `gate` (its `parkKey`) is admitted by it instead of by
   * this process's locks and buckets: a cluster node's locks, keys and buckets are the
   * cluster's.
   */
  useRemote(gate: RemoteGate): void {
    this.#remote = new RemoteAdmission(gate, this.parked, {
      granted: (task) => this.#host.requeue([task]),
      waiting: (task, key) => {
        const now = this.#clock.now();
        if (key.startsWith('lock:')) return this.#waitForLock(task, key.slice(5), now);
        if (!key.startsWith('rate:')) return;
        this.rateWaits++;
        this.#rateWaited.add(task.id);
        this.#host.parked(task, { kind: 'rate', bucket: key.slice(5), until: now }, now);
      },
    });
  }

  #waitForLock(task: TaskRecord, name: string, now: number): void {
    this.#lockWaitSince.set(task.id, now);
    this.lockWaits++;
    this.#armLockTimeout(task);
    this.#host.parked(task, { kind: 'lock', name }, now);
  }

  /** A task's attempt ended: its locks go, and the best waiters on them may try again. */
  release(task: TaskRecord): void {
    if (task.priority < this.#protect) {
      this.belowProtectRunning--;
      // A floor slot came free: the best task the guard holds may take it.
      if (this.#guard?.throttled === true) this.guardRecheck();
    }
    if (this.#remote?.release(task) === true) return;
    if (task.locks.length === 0) return;
    const freed = this.locks.release(task.id, task.locks);
    const back: TaskRecord[] = [];
    for (const name of freed) {
      const key = `lock:${name}`;
      // The best waiter goes back; if it wants the lock shared, so do the shared
      // waiters right behind it, up to the next exclusive one.
      const first = this.parked.peek(key);
      if (first === undefined) continue;
      back.push(this.parked.take(key) as TaskRecord);
      if (first.tag !== 'shared') continue;
      for (let next = this.parked.peek(key); next !== undefined && next.tag === 'shared'; next = this.parked.peek(key)) {
        back.push(this.parked.take(key) as TaskRecord);
      }
    }
    if (back.length > 0) this.#host.requeue(back);
  }

  /**
   * While throttled: the tasks the guard holds that may go now, best first: as many
   * as the floor has free slots, and any that aging has raised to `protect`. Called
   * after each sample and when a task below `protect` ends.
   */
  guardRecheck(): void {
    const guard = this.#guard;
    if (guard === undefined) return;
    const now = this.#clock.now();
    let free = guard.floor - this.belowProtectRunning;
    const back: TaskRecord[] = [];
    for (let next = this.parked.peek('resources'); next !== undefined; next = this.parked.peek('resources')) {
      const raised = this.#raised(next.item, now);
      if (!raised && free <= 0) break;
      if (!raised) free--;
      back.push(this.parked.take('resources') as TaskRecord);
    }
    if (back.length > 0) this.#host.requeue(back);
  }

  /** Whether the guard's floor lets a task below `protect` start now. */
  #floorLets(task: TaskRecord, now: number): boolean {
    const guard = this.#guard as ResourceGuard;
    if (guard.mode === 'pause') return false;
    return this.belowProtectRunning < guard.floor || this.#raised(task, now);
  }

  /** Aging has raised the task to `protect` (throttle mode): it runs over the floor. */
  #raised(task: TaskRecord, now: number): boolean {
    if (this.#agingMs <= 0 || (this.#guard as ResourceGuard).mode === 'pause') return false;
    // rank = priority * agingMs - enqueuedAt, so its level now is (rank + now) / agingMs.
    return task.rank + now >= this.#protect * this.#agingMs;
  }

  /** The guard recovered: everything it held back may try again. */
  guardRecovered(): void {
    const back = this.parked.takeAll('resources');
    if (back.length > 0) this.#host.requeue(back);
  }

  /** Forgets a task that leaves the queue without starting (cancelled, timed out waiting). */
  forget(task: TaskRecord): void {
    this.parked.remove(task);
    this.#remote?.release(task);
    this.#rateWaited.delete(task.id);
    this.#lockWaitSince.delete(task.id);
    this.#clearLockTimeout(task.id);
  }

  /** Why a queued task waits, if it is parked. */
  reasonOf(task: TaskRecord): string | undefined {
    const key = this.parked.keyOf(task.id);
    if (key === undefined) return undefined;
    if (key === 'resources') return 'resources';
    if (key.startsWith('key:')) return `key ${key.slice(4)}`;
    return key.startsWith('lock:') ? `lock ${key.slice(5)}` : `rate limit ${key.slice(5)}`;
  }

  /**
   * `cost` units for a running handler (`ctx.rateLimit(name, { cost })`): at once when
   * they fit, else when the window lets them (first come, first served among handlers:
   * a large cost is not passed by smaller ones). Resolves to the take, which a usage
   * report may adjust.
   */
  takeToken(bucket: string, signal?: AbortSignal, cost = 1, waiting?: (until: number) => void): Promise<Take> {
    if (this.#remote !== undefined) {
      // The cluster's bucket: its window is in the shared store.
      return this.#remote.take(bucket, cost, signal, (until) => {
        this.rateWaits++;
        waiting?.(until);
      });
    }
    const now = this.#clock.now();
    const until = this.buckets.nextAt(bucket, now, cost);
    if (until > now) waiting?.(until);
    const waiters = this.#tokenWaiters.get(bucket) ?? [];
    const take = waiters.length === 0 ? this.buckets.take(bucket, now, cost) : undefined;
    if (take !== undefined) return Promise.resolve(take);
    this.rateWaits++;
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const list = this.#tokenWaiters.get(bucket);
        const index = list?.indexOf(waiter) ?? -1;
        if (index >= 0) list?.splice(index, 1);
        reject(signal?.reason);
      };
      // However the wait ends, its listener goes: a handler that waits in a loop on
      // one attempt's signal would otherwise pile up one listener per token.
      const waiter: TokenWaiter = {
        cost,
        resolve: (take: Take) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(take);
        },
        reject: (error: unknown) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      waiters.push(waiter);
      this.#tokenWaiters.set(bucket, waiters);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#armBucket(bucket, this.buckets.nextAt(bucket, now, (waiters[0] as TokenWaiter).cost), now);
    });
  }

  /** Holds a bucket until `until` (a provider answered 429 with a retry-after). */
  pause(bucket: string, until: number): void {
    if (this.#remote !== undefined) this.#remote.pause(bucket, until);
    else this.buckets.pause(bucket, until);
  }

  /** Drops every timer and rejects handlers still waiting for a token. */
  stop(reason: unknown): void {
    this.#remote?.stop(reason);
    for (const timer of this.#bucketTimers.values()) this.#clock.clearTimeout(timer);
    this.#bucketTimers.clear();
    for (const timer of this.#lockTimers.values()) this.#clock.clearTimeout(timer);
    this.#lockTimers.clear();
    for (const waiters of this.#tokenWaiters.values()) for (const waiter of waiters) waiter.reject(reason);
    this.#tokenWaiters.clear();
  }

  #armBucket(bucket: string, until: number, now: number): void {
    if (this.#bucketTimers.has(bucket)) return;
    this.#bucketTimers.set(
      bucket,
      this.#clock.setTimeout(() => {
        this.#bucketTimers.delete(bucket);
        this.#refill(bucket);
      }, Math.max(0, until - now)),
    );
  }

  /** Tokens came free: handlers waiting first, then parked tasks, as many as there are tokens. */
  #refill(bucket: string): void {
    const now = this.#clock.now();
    const waiters = this.#tokenWaiters.get(bucket) ?? [];
    for (;;) {
      const first = waiters[0];
      const take = first === undefined ? undefined : this.buckets.take(bucket, now, first.cost);
      if (take === undefined) break;
      waiters.shift();
      (first as TokenWaiter).resolve(take);
    }
    const key = `rate:${bucket}`;
    const back: TaskRecord[] = [];
    // Parked starts (a unit each) only once no handler waits: handlers are served first.
    for (let free = waiters.length > 0 ? 0 : this.buckets.available(bucket, now); free >= 1 && this.parked.peek(key) !== undefined; free--) {
      back.push(this.parked.take(key) as TaskRecord);
    }
    if (back.length > 0) this.#host.requeue(back);
    const first = waiters[0];
    if (first !== undefined || this.parked.peek(key) !== undefined) this.#armBucket(bucket, this.buckets.nextAt(bucket, now, first?.cost ?? 1), now);
  }

  /**
   * A usage report (`ctx.reportUsage`): `delta` more units used than `takes` took
   * (counted now), or fewer (given back to the window, which may let waiters go).
   */
  adjustUsage(bucket: string, takes: Take[], delta: number): void {
    if (this.#remote !== undefined) return this.#remote.adjust(bucket, takes, delta);
    const now = this.#clock.now();
    this.buckets.adjust(bucket, takes, delta, now);
    if (delta < 0) this.#refill(bucket);
  }

  #armLockTimeout(task: TaskRecord): void {
    if (task.lockTimeoutMs === undefined) return;
    this.#lockTimers.set(
      task.id,
      this.#clock.setTimeout(() => {
        this.#lockTimers.delete(task.id);
        // Still parked on a lock: give up now. Between two waits (back in the ready
        // queue), the next admission sees the deadline has passed.
        if (!this.parked.keyOf(task.id)?.startsWith('lock:')) return;
        this.forget(task);
        this.#host.lockTimedOut(task);
      }, task.lockTimeoutMs),
    );
  }

  #endLockWait(task: TaskRecord, now: number): number | undefined {
    const since = this.#lockWaitSince.get(task.id);
    if (since === undefined) return undefined;
    this.#lockWaitSince.delete(task.id);
    this.#clearLockTimeout(task.id);
    this.lockWaitMs += now - since;
    return now - since;
  }

  #clearLockTimeout(id: string): void {
    const timer = this.#lockTimers.get(id);
    if (timer === undefined) return;
    this.#clock.clearTimeout(timer);
    this.#lockTimers.delete(id);
  }
}
