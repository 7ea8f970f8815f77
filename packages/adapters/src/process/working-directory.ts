import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { TaskFailure } from '@steward/core';

/**
 * Throws a TaskFailure (STEWARD_PROCESS_SPAWN, not retried) naming `cwd` when it
 * is not an existing folder. Checked before a spawn because the spawn's own error
 * for a missing cwd is ENOENT against the program, which blames the wrong thing.
 */
export function checkWorkingDirectory(cwd: string, command: string): void {
  const path = resolve(cwd);
  let problem: string | undefined;
  try {
    if (!statSync(path).isDirectory()) problem = 'is not a folder';
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    problem = code === 'ENOENT' || code === 'ENOTDIR' ? 'does not exist' : `cannot be read (${code ?? String(error)})`;
  }
  if (problem !== undefined) throw new TaskFailure(`could not start "${command}": its working directory "${path}" ${problem}`, { code: 'STEWARD_PROCESS_SPAWN', retryable: false });
}
