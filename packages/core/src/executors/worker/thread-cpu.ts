import { openSync, readFileSync, readSync } from 'node:fs';

/** Linux's USER_HZ: the unit of the tick counts in /proc/<pid>/stat (100 on every mainstream build). */
const TICK_MS = 10;

let source: 'schedstat' | 'stat' | 'none' | undefined;
/** This thread's schedstat, kept open: read at offset 0, procfs renders it afresh each time (no open, stat and close per reading). */
let schedstat: number | undefined;
const buffer = Buffer.alloc(128);

/**
 * CPU time the calling thread has used so far, in milliseconds, or undefined where
 * the OS does not tell it. Read from `/proc/thread-self` (Linux): `schedstat` gives
 * the thread's time on a CPU in nanoseconds; `stat` (utime + stime, in ticks of
 * 10 ms) is the fallback. Node 20 has no per-thread reading of its own
 * (`process.cpuUsage()` in a worker counts every thread of the process, and event-loop
 * utilization is wall time, not CPU), so without /proc there is no honest figure.
 * The read is synchronous on purpose: it must run on this thread, not the libuv pool.
 */
export function threadCpuMs(): number | undefined {
  if (source === undefined || source === 'schedstat') {
    try {
      // Opened by this thread, the descriptor stays this thread's entry.
      schedstat ??= openSync('/proc/thread-self/schedstat', 'r');
      const length = readSync(schedstat, buffer, 0, buffer.length, 0);
      const ns = Number(buffer.toString('latin1', 0, length).split(' ', 1)[0]);
      if (Number.isFinite(ns)) {
        source = 'schedstat';
        return ns / 1e6;
      }
    } catch {
      // not Linux, or schedstat not built in: try stat
    }
    source = 'stat';
  }
  if (source === 'stat') {
    try {
      const stat = readFileSync('/proc/thread-self/stat', 'latin1');
      // Fields after the command name (which may hold spaces) start at field 3; utime is 14, stime 15.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ticks = Number(fields[11]) + Number(fields[12]);
      if (Number.isFinite(ticks)) return ticks * TICK_MS;
    } catch {
      // no /proc
    }
    source = 'none';
  }
  return undefined;
}
