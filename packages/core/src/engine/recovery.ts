import type { RuntimeEvent } from '../events/events.js';
import type { OrphanReaper } from '../executors/executor.js';
import type { Journal, RecoveryReport } from '../journal/journal.js';
import type { NewRecord } from '../journal/journal-record.js';
import type { Logger } from '../model/logger.js';
import type { ResolvedRuntimeOptions } from '../model/options.js';
import type { TaskTable } from '../journal/reducer.js';
import { taskError } from '../model/task-error.js';
import type { TaskRecord } from '../model/task-record.js';
import { isTerminal } from '../model/types.js';

/** What recovery needs from the engine to carry on after replay. */
export interface RecoveryHost {
  readonly table: TaskTable;
  commit(record: NewRecord): void;
  requeue(task: TaskRecord): void;
  resumeRetry(task: TaskRecord, delayMs: number): void;
  failed(task: TaskRecord): void;
}

/** The reaper of the executor of `kind`, or undefined when there is none (or it has none). */
export type ReaperOf = (kind: string) => OrphanReaper | undefined;

/**
 * Stops the OS process groups that attempts left running when the host died: every
 * group journaled (`attempt:process`) for a task that has not ended, whatever its
 * status now (a crash in the middle of an earlier recovery leaves the task queued
 * with its group still recorded). It runs before any task is queued again, so a
 * task never runs beside what is left of its previous attempt. Groups are stopped
 * side by side, each with its own grace. Returns, by task id, why a task's group
 * could not be stopped: that task must not run again.
 */
export async function stopOrphanedGroups(table: TaskTable, reaperOf: ReaperOf, logger: Logger): Promise<Map<string, string>> {
  const unstoppable = new Map<string, string>();
  const stopping: Array<Promise<void>> = [];
  for (const task of table.tasks.values()) {
    const owned = task.processGroups;
    if (owned == null || owned.length === 0 || isTerminal(task.status)) continue;
    for (const { attempt, kind, group } of owned) {
      const what = `process group ${group.pgid} (pid ${group.pid}) of task ${task.id} attempt ${attempt}`;
      const reaper = reaperOf(kind);
      if (reaper === undefined) {
        // Nothing here can look for it; nor can the task run again without an
        // executor of its kind, which would bring a reaper.
        logger.warn(`steward: no executor of kind "${kind}" to stop the ${what} that may have outlived the last run`);
        continue;
      }
      stopping.push(
        reaper.stop(group).then(
          (found) => {
            if (found === 'stopped') logger.warn(`steward: stopped the ${what}, which outlived the last run of the host`);
          },
          (error: unknown) => {
            const reason = `its ${what} outlived the last run of the host and could not be stopped: ${error instanceof Error ? error.message : String(error)}`;
            logger.warn(`steward: task ${task.id} will not run again: ${reason}`, error);
            unstoppable.set(task.id, reason);
          },
        ),
      );
    }
  }
  await Promise.all(stopping);
  return unstoppable;
}

/**
 * Carries on from a replayed table: an attempt that was running when the process
 * died is journaled as interrupted and its task queued again (or failed, past
 * `recovery.maxInterruptions`); queued tasks go back in the queue; a backoff resumes
 * with the delay that was left. Returns the interrupted attempts.
 */
export function resumeAfterReplay(
  host: RecoveryHost,
  recovery: ResolvedRuntimeOptions['recovery'],
  at: number,
  unstoppable: ReadonlyMap<string, string> = new Map(),
): Array<{ taskId: string; attempt: number }> {
  const interrupted: Array<{ taskId: string; attempt: number }> = [];
  for (const task of host.table.tasks.values()) {
    const orphaned = unstoppable.get(task.id);
    if (task.status === 'running') {
      const attempt = task.attempts;
      const tooMany = task.interruptions + 1 > recovery.maxInterruptions;
      const error =
        orphaned !== undefined
          ? taskError('STEWARD_INTERRUPTED', `attempt ${attempt} was interrupted and ${orphaned}`, false)
          : tooMany
            ? taskError('STEWARD_INTERRUPTED', `attempt ${attempt} was interrupted ${task.interruptions + 1} times (recovery.maxInterruptions)`, false)
            : undefined;
      host.commit({
        type: 'attempt:interrupted',
        at,
        taskId: task.id,
        attempt,
        reason: 'crash',
        counts: recovery.interruptionSpendsRetry,
        ...(error === undefined ? {} : { error }),
      });
      interrupted.push({ taskId: task.id, attempt });
      if (error !== undefined) {
        host.failed(task);
        continue;
      }
    } else if (orphaned !== undefined && !isTerminal(task.status)) {
      // Queued or waiting out a backoff, but a group of an earlier attempt still runs.
      host.commit({ type: 'task:rejected', at, taskId: task.id, error: taskError('STEWARD_INTERRUPTED', `task ${task.id} ${orphaned}`, false) });
      host.failed(task);
      continue;
    }
    if (task.status === 'queued') host.requeue(task);
    else if (task.status === 'retrying') host.resumeRetry(task, Math.max(0, (task.retryAt ?? at) - at));
  }
  return interrupted;
}

/** What the engine's recovery needs beyond RecoveryHost. */
export interface EngineRecoveryHost extends RecoveryHost {
  readonly options: ResolvedRuntimeOptions;
  reaperOf: ReaperOf;
  snapshotFailed(error: unknown, consequence: string): void;
  /** The queue and the timers are rebuilt: workflows, webhooks and the dispatcher carry on. */
  resumeServices(): void;
  emit(event: RuntimeEvent): void;
}

/**
 * Recovers an engine from its journal: replays it (salvaging a damaged one if asked,
 * then taking a snapshot past the gap), stops what a killed host left running,
 * rebuilds the queue, the retry timers and the interrupted attempts, and tells
 * subscribers one turn later (so one attached right after createRuntime() hears it).
 */
export async function recoverEngine(journal: Journal, torn: readonly number[], host: EngineRecoveryHost): Promise<RecoveryReport> {
  const { options } = host;
  const report = await journal.recover(() => options.clock.now(), options.recovery.onCorruption);
  const lost = report.lost;
  if (lost !== undefined) {
    options.logger.warn(
      `steward: salvaged a damaged journal: ${lost.records} records lost (${lost.ranges.map((r) => `${r.from}..${r.to}`).join(', ')})` +
        (lost.taskIds.length > 0 ? `; tasks whose submission was lost: ${lost.taskIds.join(', ')}` : ''),
    );
    // A snapshot now, so the next open starts after the gap and does not meet it again.
    await journal
      .compact(options.clock.now(), options.retention)
      .done.catch((error: unknown) => host.snapshotFailed(error, 'the next open meets the same damage and needs salvage again'));
  }
  // Before anything is queued again: what a killed host left running is stopped
  // first (or its task is failed), so no task runs beside its own orphan.
  const unstoppable = await stopOrphanedGroups(host.table, host.reaperOf, options.logger);
  const at = options.clock.now();
  const interrupted = resumeAfterReplay(host, options.recovery, at, unstoppable);
  host.resumeServices();
  setImmediate(() => {
    for (const seq of torn) host.emit({ type: 'journal:torn-tail', seq, at });
    for (const { taskId, attempt } of interrupted) host.emit({ type: 'attempt:interrupted', taskId, attempt, reason: 'crash', at });
  });
  return report;
}
