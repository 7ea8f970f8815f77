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
