import { setTimeout as delay } from 'node:timers/promises';
import { StewardError } from '@steward/core';
import type { OrphanReaper, OrphanStop, ProcessGroup } from '@steward/core/executor';
import { bootId, isLive, liveMembers, procStat } from './process-group.js';

/** Options of {@link ProcessOrphanReaper}. */
export interface OrphanReaperOptions {
  /** How long to wait, after SIGKILL, for the group to be gone before giving up. @defaultValue 5_000 */
  killWaitMs?: number;
  /** How often /proc is looked at while waiting for a group to end. @defaultValue 25 */
  pollMs?: number;
}

/**
 * Stops process groups left by a host that was killed (Linux, from /proc). A group
 * is taken for the recorded one only when the evidence says so: the same boot, and
 * either its leader still alive with the recorded start time, or (the leader gone)
 * members of the group started no earlier than it. A pid reused by an unrelated
 * process has another start time and is left alone; while any member of the old
 * group lives, the kernel does not hand its id to a new process.
 */
export class ProcessOrphanReaper implements OrphanReaper {
  readonly #killWaitMs: number;
  readonly #pollMs: number;

  constructor(options: OrphanReaperOptions = {}) {
    this.#killWaitMs = options.killWaitMs ?? 5_000;
    this.#pollMs = options.pollMs ?? 25;
  }

  async stop(group: ProcessGroup): Promise<OrphanStop> {
    if (!this.#alive(group)) return 'gone';
    try {
      process.kill(-group.pgid, 'SIGTERM');
    } catch (error) {
      return this.#signalFailed(group, 'SIGTERM', error);
    }
    if (await this.#waitGone(group, group.killGraceMs)) return 'stopped';
    try {
      process.kill(-group.pgid, 'SIGKILL');
    } catch (error) {
      return this.#signalFailed(group, 'SIGKILL', error);
    }
    if (await this.#waitGone(group, this.#killWaitMs)) return 'stopped';
    throw new StewardError('STEWARD_INTERRUPTED', `process group ${group.pgid} is still alive ${this.#killWaitMs} ms after SIGKILL`);
  }

  /** True while something of the recorded group (and not an impostor) has not ended. */
  #alive(group: ProcessGroup): boolean {
    // Another boot: everything of the old one is gone, and its pids mean nothing now.
    if (group.bootId !== undefined && group.bootId !== bootId()) return false;
    const leader = procStat(group.pid);
    if (leader !== undefined && leader.startTime !== group.startTime) return false; // the pid was reused
    if (isLive(leader) && leader.pgid === group.pgid) return true;
    return liveMembers(group.pgid, group.startTime).length > 0;
  }

  async #waitGone(group: ProcessGroup, limitMs: number): Promise<boolean> {
    const until = Date.now() + limitMs;
    for (;;) {
      if (!this.#alive(group)) return true;
      if (Date.now() >= until) return false;
      await delay(Math.min(this.#pollMs, Math.max(1, until - Date.now())));
    }
  }

  #signalFailed(group: ProcessGroup, signal: string, error: unknown): OrphanStop {
    // It ended on its own meanwhile (or only zombies were left to signal).
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return signal === 'SIGTERM' ? 'gone' : 'stopped';
    throw new StewardError('STEWARD_INTERRUPTED', `could not send ${signal} to process group ${group.pgid}: ${(error as Error).message}`, { cause: error });
  }
}
