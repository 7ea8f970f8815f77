/** Codes a store can fail with; core maps them onto its own StewardError codes. */
export type StoreErrorCode =
  | 'STORE_CLOSED'
  | 'STORE_INVALID_ARGUMENT'
  | 'STORE_LOCKED'
  | 'STORE_CORRUPT';

/** Error thrown by a store; `code` is stable, the message is for people. */
export class StoreError extends Error {
  readonly code: StoreErrorCode;

  constructor(code: StoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreError';
    this.code = code;
  }
}
