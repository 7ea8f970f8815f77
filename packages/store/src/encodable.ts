import { Encoder } from '@msgpack/msgpack';

/**
 * How deep a value handed to the log may nest. MessagePack refuses values deeper
 * than 100 levels, and a snapshot nests a task's input some levels below its own
 * top (snapshot, table, task, workflow, phase…), so a value that passes here also
 * fits in every record and snapshot that carries it.
 */
export const MAX_VALUE_DEPTH = 80;

const encoder = new Encoder({ ignoreUndefined: true, maxDepth: MAX_VALUE_DEPTH });

/** Why a value cannot be stored, and where in it. */
export interface EncodeProblem {
  /** Dotted path inside the value ('' for the value itself). */
  readonly path: string;
  readonly reason: string;
}

/**
 * Answers whether the log can store `value` (the same MessagePack encoding, with room
 * for the nesting of records and snapshots): undefined when it can, else the first
 * problem found, with its path.
 */
export function encodeProblem(value: unknown): EncodeProblem | undefined {
  try {
    encoder.encode(value);
    return undefined;
  } catch (cause) {
    return findProblem(value, '', 0, new Set()) ?? { path: '', reason: (cause as Error)?.message ?? String(cause) };
  }
}

function join(path: string, key: string | number): string {
  return path === '' ? String(key) : `${path}.${key}`;
}

/** Walks the value for what MessagePack refuses: a cycle, too deep a nesting, a BigInt, a symbol or a function. */
function findProblem(value: unknown, path: string, depth: number, ancestors: Set<object>): EncodeProblem | undefined {
  switch (typeof value) {
    case 'bigint':
      return { path, reason: 'is a BigInt (store it as a string)' };
    case 'symbol':
      return { path, reason: 'is a symbol' };
    case 'function':
      return { path, reason: 'is a function' };
    case 'object':
      break;
    default:
      return undefined;
  }
  if (value === null || ArrayBuffer.isView(value) || value instanceof Date) return undefined;
  if (ancestors.has(value)) return { path, reason: 'refers back to an object that contains it (a cycle)' };
  if (depth >= MAX_VALUE_DEPTH) return { path, reason: `is nested more than ${MAX_VALUE_DEPTH} levels deep` };
  ancestors.add(value);
  try {
    const entries: Array<[string | number, unknown]> =
      value instanceof Map ? [...value.entries()].map(([k, v]) => [String(k), v]) : Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
    for (const [key, child] of entries) {
      const problem = findProblem(child, join(path, key), depth + 1, ancestors);
      if (problem !== undefined) return problem;
    }
  } finally {
    ancestors.delete(value);
  }
  return undefined;
}
