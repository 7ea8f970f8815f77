import { readdirSync, readFileSync } from 'node:fs';

/** Linux's USER_HZ: the unit of the CPU times in /proc/<pid>/stat (100 on every mainstream build). */
const TICK_MS = 10;

/** What one reading of `/proc/<pid>/stat` and `status` says of a process. */
interface ProcReading {
  readonly pgid: number;
  readonly startTime: number;
  /** Its own CPU time plus that of the children it has reaped (utime+stime+cutime+cstime). */
  readonly cpuMs: number;
  /** Resident memory now and at its peak (VmRSS, VmHWM), 0 for a zombie. */
  readonly rssKb: number;
  readonly peakKb: number;
}

function readProc(pid: number): ProcReading | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  // Fields after the command name (which may hold spaces or ')') start at field 3.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  const pgid = Number(f[2]);
  const startTime = Number(f[19]);
  if (!Number.isFinite(ticks) || !Number.isSafeInteger(pgid) || !Number.isSafeInteger(startTime)) return undefined;
  let rssKb = 0;
  let peakKb = 0;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'latin1');
    rssKb = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
    peakKb = Number(/^VmHWM:\s+(\d+)/m.exec(status)?.[1] ?? 0);
  } catch {
    // gone between the two reads: its CPU time still counts
  }
  return { pgid, startTime, cpuMs: ticks * TICK_MS, rssKb, peakKb };
}

/** Direct children of `pid` (every thread's), or undefined where the kernel does not list them. */
function childrenOf(pid: number): number[] | undefined {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const tid of tids) {
    try {
      for (const child of readFileSync(`/proc/${pid}/task/${tid}/children`, 'latin1').split(' ')) if (child !== '') out.push(Number(child));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' && tid === String(pid)) return undefined; // no CONFIG_PROC_CHILDREN
    }
  }
  return out;
}

/** Every process of group `pgid`, by a scan of /proc (where children are not listed). */
function scanGroup(pgid: number): number[] {
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const name of names) {
    const pid = Number(name);
    if (Number.isInteger(pid) && pid > 0 && readProc(pid)?.pgid === pgid) out.push(pid);
  }
  return out;
}

/**
 * What one process group has used, from readings of /proc (Linux) while it runs.
 *
 * CPU: at each reading, the sum over the group's processes (zombies included) of
 * their own CPU time and that of the children they have reaped. That sum only grows
 * while processes stay in view (a child's time moves into its parent's when the
 * parent reaps it), so the highest reading is the figure. What it cannot see: the
 * time used after the last reading (at most one interval; the leader is reaped by
 * Node before anything can read it), and children that left the group and were
 * reaped elsewhere after their last reading. Memory: the highest of the group's
 * summed resident memory at a reading and of any one process's own peak (VmHWM,
 * which the kernel keeps between readings).
 */
export class GroupUsage {
  readonly #leader: number;
  readonly #pgid: number;
  readonly #notBefore: number;
  /** Processes seen in the group, read again directly even after they left the leader's tree. */
  readonly #members = new Set<number>();
  #cpuMs = 0;
  #peakKb = 0;
  #readings = 0;

  constructor(leader: number, pgid: number, leaderStartTime: number) {
    this.#leader = leader;
    this.#pgid = pgid;
    this.#notBefore = leaderStartTime;
    this.#members.add(leader);
  }

  /** Reads every process of the group now. */
  sample(): void {
    const pids = new Set(this.#members);
    // The leader's descendants (cheap), or a scan of /proc where the kernel lists no children.
    const stack = [this.#leader];
    let walked = 0;
    while (stack.length > 0 && walked < 10_000) {
      const pid = stack.pop() as number;
      walked++;
      const children = childrenOf(pid);
      if (children === undefined) {
        for (const member of scanGroup(this.#pgid)) pids.add(member);
        break;
      }
      for (const child of children) {
        pids.add(child);
        stack.push(child);
      }
    }
    let cpuMs = 0;
    let rssKb = 0;
    let seen = 0;
    for (const pid of pids) {
      const reading = readProc(pid);
      // Left the group, or its pid now belongs to a process that started before it could be ours.
      if (reading === undefined || reading.pgid !== this.#pgid || reading.startTime < this.#notBefore) {
        this.#members.delete(pid);
        continue;
      }
      this.#members.add(pid);
      seen++;
      cpuMs += reading.cpuMs;
      rssKb += reading.rssKb;
      if (reading.peakKb > this.#peakKb) this.#peakKb = reading.peakKb;
    }
    if (seen === 0) return;
    this.#readings++;
    if (cpuMs > this.#cpuMs) this.#cpuMs = cpuMs;
    if (rssKb > this.#peakKb) this.#peakKb = rssKb;
  }

  /** The figures so far, or undefined when the group could never be read (no /proc). */
  get usage(): { cpuMs: number; maxRssMb: number } | undefined {
    if (this.#readings === 0) return undefined;
    return { cpuMs: this.#cpuMs, maxRssMb: Math.round((this.#peakKb / 1024) * 10) / 10 };
  }
}

/**
 * Reads every watched group at one interval, on one timer for all of them (unref'd:
 * it never keeps the host alive).
 */
export class GroupSampler {
  readonly #intervalMs: number;
  readonly #groups = new Set<GroupUsage>();
  #timer: NodeJS.Timeout | undefined;

  constructor(intervalMs: number) {
    this.#intervalMs = intervalMs;
  }

  /** Starts watching a group, with a first reading now. */
  watch(leader: number, pgid: number, leaderStartTime: number): GroupUsage {
    const group = new GroupUsage(leader, pgid, leaderStartTime);
    group.sample();
    this.#groups.add(group);
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => {
        for (const g of this.#groups) g.sample();
      }, this.#intervalMs);
      this.#timer.unref();
    }
    return group;
  }

  /** Stops watching `group`. */
  forget(group: GroupUsage): void {
    this.#groups.delete(group);
    if (this.#groups.size === 0 && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  /** Stops watching every group. */
  close(): void {
    this.#groups.clear();
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
