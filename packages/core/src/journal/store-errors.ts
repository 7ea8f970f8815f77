import { StoreError } from '@steward/store';
import { StewardError, StoreCorruptError, StoreFullError, StoreLockedError, StoreUnavailableError } from '../model/errors.js';

/** Maps what the store throws onto the library's error codes; anything else becomes STEWARD_STORE_UNAVAILABLE with the cause attached. */
export function translateStoreError(error: unknown, where: string): unknown {
  if (error instanceof StewardError) return error;
  if (!(error instanceof StoreError)) {
    return new StoreUnavailableError(`the journal in ${where} failed: ${(error as Error)?.message ?? String(error)}`, { cause: error });
  }
  switch (error.code) {
    case 'STORE_LOCKED':
      return new StoreLockedError(where, { cause: error });
    case 'STORE_CORRUPT':
      return new StoreCorruptError(`the journal in ${where} is damaged: ${error.message}`, { cause: error });
    case 'STORE_FULL':
      return new StoreFullError(undefined, { cause: error });
    case 'STORE_CLOSED':
      return new StoreUnavailableError(`the journal in ${where} is closed`, { cause: error });
    default:
      return new StoreUnavailableError(`the journal in ${where} failed: ${error.message}`, { cause: error });
  }
}
