import type { Tracer, TracerProvider } from '@opentelemetry/api';
import type { OtelApiModule } from './otel-api.js';

/** The instrumentation scope of Steward's spans. */
export const TRACER_NAME = '@steward/core';

/** What the API's global provider is: a proxy that delegates to the registered one. */
interface MaybeProxy extends TracerProvider {
  getDelegateTracer?(name: string, version?: string): Tracer | undefined;
}

/**
 * Steward's tracer when a tracer provider is registered with the API, else
 * undefined. The API's global provider is always a ProxyTracerProvider: without a
 * registered delegate it has no delegate tracer. A registered provider that is the
 * API's own no-op (it makes only non-recording spans) counts as none too.
 */
export function tracerIfRegistered(api: OtelApiModule): Tracer | undefined {
  const provider = api.trace.getTracerProvider() as MaybeProxy;
  const tracer = typeof provider.getDelegateTracer === 'function' ? provider.getDelegateTracer(TRACER_NAME) : provider.getTracer(TRACER_NAME);
  if (tracer === undefined || tracer.constructor.name === 'NoopTracer') return undefined;
  return tracer;
}
