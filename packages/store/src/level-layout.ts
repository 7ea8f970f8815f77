import { decode, Encoder } from '@msgpack/msgpack';

// How the LevelDB log lays out its keys and encodes its values: records under
// 'r!' by sequence number, the snapshot under one key, blob chunks under 'b!' by key
// and a counter, and every value in MessagePack behind a format version.

/** Format version written in front of every stored value. */
export const FORMAT = 1;
export const RECORD_PREFIX = 'r!';
export const SNAPSHOT_KEY = 's!snapshot';
export const BLOB_PREFIX = 'b!';
// The counter that orders blob chunks across sessions, written in every batch that adds one.
export const BLOB_SEQ_KEY = 'm!blob-seq';
// Sequence numbers are written as 16 zero-padded decimal digits so that LevelDB's
// byte order is numeric order (enough for 10^16 records).
export const SEQ_WIDTH = 16;

const encoder = new Encoder({ ignoreUndefined: true });

export function recordKey(seq: number): string {
  return RECORD_PREFIX + String(seq).padStart(SEQ_WIDTH, '0');
}

export function blobRange(key: string): { gte: string; lt: string } {
  // Hex keeps any key (with '!' or '~' in it) inside its own range.
  const hex = Buffer.from(key, 'utf8').toString('hex');
  return { gte: `${BLOB_PREFIX}${hex}!`, lt: `${BLOB_PREFIX}${hex}!~` };
}

export function seqOf(key: string): number {
  return Number(key.slice(RECORD_PREFIX.length));
}

export function encodeValue(value: unknown): Uint8Array {
  return encoder.encode([FORMAT, value]);
}

export function decodeValue(bytes: Uint8Array): unknown {
  const decoded = decode(bytes) as unknown;
  if (!Array.isArray(decoded) || decoded.length !== 2 || decoded[0] !== FORMAT) {
    throw new Error(`unknown record format ${Array.isArray(decoded) ? String(decoded[0]) : typeof decoded}`);
  }
  return decoded[1];
}
