import { loadOtelApi, otelApi, type OtelApiModule } from './otel-api.js';
import type { TraceCarrier } from './trace-carrier.js';
import { parseTraceparent } from './traceparent.js';

/**
 * Runs `fn` (a handler) with the attempt's span as the active context, so spans the
 * handler makes with `@opentelemetry/api` nest under its attempt. On the main thread
 * the API is loaded already and `fn` runs at once. In a worker thread the first call
 * loads the thread's own instance of the API, which has nothing the main thread
 * registered: for the handler's spans to be recorded and exported, a tracer provider
 * and a context manager must be registered in the thread too (say, by a module the
 * handler's module imports). Without a carrier, or without the API, `fn` just runs.
 */
export function inTraceContext<T>(carrier: TraceCarrier | undefined, fn: () => T): T | Promise<T> {
  if (carrier === undefined) return fn();
  const api = otelApi();
  if (api !== undefined) return withParent(api, carrier, fn);
  return loadOtelApi().then((loaded) => (loaded === undefined ? fn() : withParent(loaded, carrier, fn)));
}

function withParent<T>(api: OtelApiModule, carrier: TraceCarrier, fn: () => T): T {
  const parts = parseTraceparent(carrier.traceparent);
  if (parts === undefined) return fn();
  const traceState = carrier.tracestate === undefined ? undefined : api.createTraceState(carrier.tracestate);
  const parent = api.trace.setSpanContext(api.ROOT_CONTEXT, { ...parts, isRemote: true, ...(traceState === undefined ? {} : { traceState }) });
  return api.context.with(parent, fn);
}
