import { JOURNAL_VERSION, type JournalRecord } from './journal-record.js';
import type { ResolvedRuntimeOptions } from './options.js';
import type { TaskTable } from './reducer.js';
import { taskError } from './task-error.js';
import type { TaskRecord } from './task-record.js';

/** What recovery needs from the engine to carry on after replay. */
export interface RecoveryHost {
  readonly table: TaskTable;
  commit(record: JournalRecord): void;
  requeue(task: TaskRecord): void;
  resumeRetry(task: TaskRecord, delayMs: number): void;
  failed(task: TaskRecord): void;
}

/**
 * Carries on from a replayed table: an attempt that was running when the process
 * died is journaled as interrupted and its task queued again (or failed, past
 * `recovery.maxInterruptions`); queued tasks go back in the queue; a backoff resumes
 * with the delay that was left. Returns the interrupted attempts.
 */
export function resumeAfterReplay(host: RecoveryHost, recovery: ResolvedRuntimeOptions['recovery'], at: number): Array<{ taskId: string; attempt: number }> {
  const interrupted: Array<{ taskId: string; attempt: number }> = [];
  for (const task of host.table.tasks.values()) {
    if (task.status === 'running') {
      const attempt = task.attempts;
      const tooMany = task.interruptions + 1 > recovery.maxInterruptions;
      host.commit({
        v: JOURNAL_VERSION,
        type: 'attempt:interrupted',
        at,
        taskId: task.id,
        attempt,
        reason: 'crash',
        counts: recovery.interruptionSpendsRetry,
        ...(tooMany
          ? { error: taskError('STEWARD_INTERRUPTED', `attempt ${attempt} was interrupted ${task.interruptions + 1} times (recovery.maxInterruptions)`, false) }
          : {}),
      });
      interrupted.push({ taskId: task.id, attempt });
      if (tooMany) {
        host.failed(task);
        continue;
      }
    }
    if (task.status === 'queued') host.requeue(task);
    else if (task.status === 'retrying') host.resumeRetry(task, Math.max(0, (task.retryAt ?? at) - at));
  }
  return interrupted;
}
