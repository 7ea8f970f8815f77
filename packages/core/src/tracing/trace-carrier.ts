/**
 * A W3C trace context as plain data (the `traceparent` and `tracestate` headers),
 * the form in which an attempt's span crosses into a worker thread, a child
 * process (`TRACEPARENT`/`TRACESTATE`) or a custom executor.
 */
export interface TraceCarrier {
  /** `00-<trace id>-<span id>-<flags>`. */
  readonly traceparent: string;
  readonly tracestate?: string;
}

/** The environment variables a child process reads its parent span from (empty when there is none). */
export function traceEnv(carrier: TraceCarrier | undefined): Record<string, string> {
  if (carrier === undefined) return {};
  return carrier.tracestate === undefined ? { TRACEPARENT: carrier.traceparent } : { TRACEPARENT: carrier.traceparent, TRACESTATE: carrier.tracestate };
}
