import { encodeProblem } from '@steward/store';
import { serialize } from 'node:v8';
import { NotSerializableError, PayloadTooLargeError, StewardError } from './errors.js';

/**
 * Checks that a value can cross to a worker thread and into the journal, and that
 * it fits the limit. One structured serialization answers both questions (it
 * throws on functions, symbols and other uncloneable values).
 */
export function checkPayload(value: unknown, maxBytes: number, what = 'input'): number {
  if (value === undefined || value === null || typeof value === 'number' || typeof value === 'boolean') return 8;
  let bytes: number;
  try {
    bytes = serialize(value).byteLength;
  } catch (error) {
    throw new NotSerializableError(what, { cause: error });
  }
  if (bytes > maxBytes) throw new PayloadTooLargeError(bytes, maxBytes);
  return bytes;
}

/**
 * Checks that the journal can write a value (MessagePack, with room for the nesting
 * of its records and snapshots), so nothing is acknowledged that cannot be written.
 * Throws STEWARD_NOT_SERIALIZABLE naming the path of the first bad part.
 */
export function checkJournalable(value: unknown, what = 'input'): void {
  // Only objects (and BigInts, which MessagePack refuses) can fail to encode.
  if (value === null || (typeof value !== 'object' && typeof value !== 'bigint')) return;
  const problem = encodeProblem(value);
  if (problem === undefined) return;
  const path = problem.path === '' ? what : `${what}.${problem.path}`;
  throw new StewardError('STEWARD_NOT_SERIALIZABLE', `${path} ${problem.reason}: the journal cannot store it`);
}
