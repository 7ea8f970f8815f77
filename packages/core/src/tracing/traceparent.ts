/** The parts of a span context that a `traceparent` carries. */
export interface TraceparentParts {
  readonly traceId: string;
  readonly spanId: string;
  readonly traceFlags: number;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const ALL_ZERO = /^0+$/;

/** Formats a span context as a W3C `traceparent` (version 00). */
export function formatTraceparent(parts: TraceparentParts): string {
  return `00-${parts.traceId}-${parts.spanId}-${(parts.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

/**
 * Reads a W3C `traceparent` (version 00); undefined for anything else, or for the
 * all-zero ids the spec calls invalid. Written here rather than taken from the
 * global propagator: in a worker thread nobody may have registered one.
 */
export function parseTraceparent(value: string): TraceparentParts | undefined {
  const match = TRACEPARENT.exec(value.trim());
  if (match === null) return undefined;
  const [, traceId, spanId, flags] = match as unknown as [string, string, string, string];
  if (ALL_ZERO.test(traceId) || ALL_ZERO.test(spanId)) return undefined;
  return { traceId, spanId, traceFlags: Number.parseInt(flags, 16) };
}
