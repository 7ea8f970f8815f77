/** Codes a store can fail with; core maps them onto its own StewardError codes. */
export type StoreErrorCode =
  | 'STORE_CLOSED'
  | 'STORE_INVALID_ARGUMENT'
  | 'STORE_LOCKED'
  | 'STORE_CORRUPT'
  /** A write failed because the disk is full; the store retries and recovers once there is room. */
  | 'STORE_FULL'
  /** A write failed for another reason of the disk or LevelDB; the store retries and recovers. */
  | 'STORE_UNAVAILABLE';

/** Error thrown by a store; `code` is stable, the message is for people. */
export class StoreError extends Error {
  readonly code: StoreErrorCode;

  constructor(code: StoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreError';
    this.code = code;
  }
}

/** True when `error` (or a cause of it) says the disk is full. */
export function isDiskFull(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e !== undefined && e !== null && depth < 8; depth++) {
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (code === 'ENOSPC' || (typeof message === 'string' && /ENOSPC|No space left on device/i.test(message))) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** Wraps what LevelDB (or the file system) threw during a write into a StoreError. */
export function writeFailure(error: unknown): StoreError {
  if (error instanceof StoreError) return error;
  return isDiskFull(error)
    ? new StoreError('STORE_FULL', 'the disk is full: the journal cannot be written until there is room again', { cause: error })
    : new StoreError('STORE_UNAVAILABLE', `the journal cannot be written: ${(error as Error)?.message ?? String(error)}`, { cause: error });
}

/** What LevelDB threw while opening or reading, as a StoreError with the cause attached. */
export function readFailure(error: unknown, what: string): StoreError {
  if (error instanceof StoreError) return error;
  const code = (error as { code?: string }).code ?? (error as { cause?: { code?: string } }).cause?.code;
  if (code === 'LEVEL_CORRUPTION' || /corrupt/i.test(String((error as Error)?.message))) {
    return new StoreError('STORE_CORRUPT', `${what}: LevelDB reports damaged files (${(error as Error).message}); restore the data directory from a backup, or move it aside to start empty`, { cause: error });
  }
  if (isDiskFull(error)) return new StoreError('STORE_FULL', `${what}: the disk is full`, { cause: error });
  return new StoreError('STORE_UNAVAILABLE', `${what}: ${(error as Error)?.message ?? String(error)}`, { cause: error });
}
