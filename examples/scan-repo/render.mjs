// Live progress of the scan-repo example: on a terminal the block of bars is
// redrawn in place (cursor up N lines, rewrite); on a pipe or in CI it prints
// plain lines for tasks that changed, at most every `intervalMs`.
const SPINNER = '⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏';
const BAR_WIDTH = 20;
const COLORS = { queued: 90, running: 36, completed: 32, failed: 31, cancelled: 33, timed_out: 31, retrying: 33 };

/** Percent to show for a task snapshot: 100 once completed, else its last reported progress. */
const percentOf = (task) => (task.status === 'completed' ? 100 : Math.round(task.progress?.percent ?? 0));

/** Creates a renderer writing to `stream`; `levels` maps priority numbers to level names. */
export function createRenderer(stream, levels, { intervalMs = 500 } = {}) {
  const tty = stream.isTTY === true;
  const printed = new Map();
  let drawnLines = 0;
  let frame = 0;
  let lastPlainAt = -Infinity;

  /** One fixed-width line for a task; `color` wraps the status in an ANSI color. */
  function line(task, color) {
    const percent = percentOf(task);
    const filled = Math.round((percent / 100) * BAR_WIDTH);
    const head = `${task.type.padEnd(15)} ${levels[task.priority].padEnd(10)} `;
    const status = task.status.padEnd(9);
    const bar = ` [${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${String(percent).padStart(3)}%  `;
    const room = tty ? Math.max(0, (stream.columns || 120) - head.length - status.length - bar.length - 1) : Infinity;
    const message = (task.progress?.message ?? '').slice(0, room);
    return head + (color ? `\x1b[${COLORS[task.status] ?? 0}m${status}\x1b[0m` : status) + bar + message;
  }

  return {
    tty,
    /** Draws the task snapshots under a status line; `final` ignores the plain-mode throttle. */
    draw(tasks, elapsedMs, note, final = false) {
      if (tty) {
        const spin = final ? '✔' : SPINNER[frame++ % SPINNER.length];
        const lines = [`${spin} ${(elapsedMs / 1000).toFixed(1)}s  ${note}`, ...tasks.map((t) => line(t, true))];
        const up = drawnLines > 0 ? `\x1b[${drawnLines}A` : '\x1b[?25l'; // hide the cursor on the first frame
        stream.write(up + lines.map((l) => `\x1b[2K${l}\n`).join(''));
        drawnLines = lines.length;
        return;
      }
      if (!final && elapsedMs - lastPlainAt < intervalMs) return;
      lastPlainAt = elapsedMs;
      for (const task of tasks) {
        const key = `${task.status}:${percentOf(task)}`;
        if (printed.get(task.id) === key) continue;
        printed.set(task.id, key);
        stream.write(`[${(elapsedMs / 1000).toFixed(2)}s] ${line(task, false).trimEnd()}\n`);
      }
    },
    /** Shows the cursor again after the last frame. */
    done() {
      if (tty && drawnLines > 0) stream.write('\x1b[?25h');
    },
  };
}
