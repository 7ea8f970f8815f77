export { DEFAULT_MAX_BLOB_BYTES, type AppendReceipt, type LogRecord, type LogStore, type ReadOptions, type Snapshot } from './log-store.js';
export { MemoryLogStore } from './memory-log-store.js';
export { StoreError, isDiskFull, writeFailure, type StoreErrorCode } from './store-error.js';
export { LevelLogStore, type LevelLogStoreOptions } from './level-log-store.js';
export { encodeProblem, MAX_VALUE_DEPTH, type EncodeProblem } from './encodable.js';
