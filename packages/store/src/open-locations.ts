import { mkdir, realpath } from 'node:fs/promises';
import { readFailure, StoreError } from './store-error.js';

/**
 * Real paths of the logs open in this process. LevelDB's LOCK is a POSIX lock, which
 * belongs to the process: a second open of a held directory would be refused by
 * LevelDB, but closing the refused handle drops the process's lock with it, and then
 * another process could open the directory under the first. So a second open in the
 * same process is refused here, before LevelDB is touched.
 */
const openLocations = new Set<string>();

/** Creates `location` if needed and claims its real path for this process; STORE_LOCKED when already claimed. */
export async function claimLocation(location: string): Promise<string> {
  let real: string;
  try {
    await mkdir(location, { recursive: true });
    real = await realpath(location);
  } catch (error) {
    throw readFailure(error, `could not create the log in ${location}`);
  }
  if (openLocations.has(real)) {
    throw new StoreError('STORE_LOCKED', `the log in ${location} is already open in this process; shut down the runtime that holds it first`);
  }
  openLocations.add(real);
  return real;
}

/** Lets go of a claimed path (once LevelDB has closed it). */
export function releaseLocation(real: string): void {
  openLocations.delete(real);
}
