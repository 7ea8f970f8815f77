import { serialize } from 'node:v8';
import { NotSerializableError, PayloadTooLargeError } from './errors.js';

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
