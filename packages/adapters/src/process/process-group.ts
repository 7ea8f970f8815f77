import { readdirSync, readFileSync } from 'node:fs';
import type { ProcessGroup } from '@steward/core/executor';

/**
 * Signals a whole process group (a detached child leads its own group, and its
 * descendants stay in it unless they leave on purpose). Returns false when no
 * process of the group is left.
 */
export function signalGroup(pid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}

/** What `/proc/<pid>/stat` says of a process (Linux). */
export interface ProcStat {
  /** One letter: R, S, D, Z (zombie: it has ended and only waits to be reaped), ... */
  readonly state: string;
  readonly pgid: number;
  /** Clock ticks after boot (field 22, `starttime`); never changes for the life of the process. */
  readonly startTime: number;
}

/** Reads `/proc/<pid>/stat`, or undefined when the process is gone (or there is no /proc). */
export function procStat(pid: number): ProcStat | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces or ')': the
  // fields after the last ')' start at field 3.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const startTime = Number(fields[19]);
  const pgid = Number(fields[2]);
  if (!Number.isSafeInteger(startTime) || !Number.isSafeInteger(pgid)) return undefined;
  return { state: fields[0] as string, pgid, startTime };
}

/** True for a process that has not ended (a zombie has: it only waits for its parent). */
export function isLive(stat: ProcStat | undefined): stat is ProcStat {
  return stat !== undefined && stat.state !== 'Z' && stat.state !== 'X';
}

let cachedBootId: string | null | undefined;

/** The id of this boot of the machine (Linux), or undefined where there is none. */
export function bootId(): string | undefined {
  if (cachedBootId === undefined) {
    try {
      cachedBootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || null;
    } catch {
      cachedBootId = null;
    }
  }
  return cachedBootId ?? undefined;
}

/**
 * The group a just-spawned child leads, as the journal keeps it, or undefined where
 * /proc cannot tell its start time (not Linux): a group that cannot be told apart
 * from a later process with the same pid is better not recorded at all.
 */
export function describeGroup(pid: number, killGraceMs: number): ProcessGroup | undefined {
  const stat = procStat(pid);
  if (stat === undefined) return undefined;
  const boot = bootId();
  return { pid, pgid: stat.pgid, startTime: stat.startTime, ...(boot === undefined ? {} : { bootId: boot }), killGraceMs };
}

/** Processes of group `pgid` that have not ended, started at `notBefore` ticks or later, from /proc. */
export function liveMembers(pgid: number, notBefore = 0): number[] {
  const out: number[] = [];
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const name of names) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    const stat = procStat(pid);
    if (isLive(stat) && stat.pgid === pgid && stat.startTime >= notBefore) out.push(pid);
  }
  return out;
}
