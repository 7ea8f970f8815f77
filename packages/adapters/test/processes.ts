import { readdirSync, readFileSync } from 'node:fs';

/** The state letter of a process from /proc, or undefined when it is gone. */
function stateOf(pid: number): { state: string; ppid: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may contain spaces: read after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] as string, ppid: Number(fields[1]) };
  } catch {
    return undefined;
  }
}

/** True while the process exists and is not a zombie (a zombie has ended; it only waits to be reaped). */
export function isAlive(pid: number): boolean {
  const stat = stateOf(pid);
  return stat !== undefined && stat.state !== 'Z' && stat.state !== 'X';
}

/** Every live descendant of `root` (this process by default), from /proc. */
export function liveDescendants(root = process.pid): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const stat = stateOf(pid);
    if (stat === undefined || stat.state === 'Z') continue;
    const list = children.get(stat.ppid) ?? [];
    list.push(pid);
    children.set(stat.ppid, list);
  }
  const out: number[] = [];
  const walk = (pid: number) => {
    for (const child of children.get(pid) ?? []) {
      out.push(child);
      walk(child);
    }
  };
  walk(root);
  return out;
}

/** Waits (by polling /proc, not by a fixed sleep) until `pid` is gone, up to `limitMs`. */
export async function waitGone(pid: number, limitMs = 10_000): Promise<boolean> {
  const started = Date.now();
  while (Date.now() - started < limitMs) {
    if (!isAlive(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return !isAlive(pid);
}

// Every process this test process starts inherits this variable (the process executor
// and spawn pass the environment on), so a search by command line can tell this run's
// processes from those of another test run on the same machine (a second `npm test`).
const RUN = `STEWARD_TEST_RUN=${(process.env.STEWARD_TEST_RUN ??= `run-${process.pid}`)}`;

/**
 * Live processes of this test run whose command line mentions `marker` (orphans
 * included, whoever their parent is now).
 */
export function liveProcessesMatching(marker: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    let cmdline: string;
    let environ: string;
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!cmdline.includes(marker)) continue;
      environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
    } catch {
      continue;
    }
    if (environ.split('\0').includes(RUN) && isAlive(pid)) out.push(pid);
  }
  return out;
}
