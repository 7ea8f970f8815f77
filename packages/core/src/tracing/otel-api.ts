import type * as OtelApi from '@opentelemetry/api';

/** The `@opentelemetry/api` module, as this process loaded it. */
export type OtelApiModule = typeof OtelApi;

let loading: Promise<OtelApiModule | undefined> | undefined;
let loaded: OtelApiModule | undefined;

/**
 * Loads `@opentelemetry/api` once per module instance, if it is installed: it is an
 * optional peer dependency, so its absence only means no tracing. Called by
 * createRuntime (and by a worker thread that is handed a trace context), never on
 * the path a task takes.
 */
export function loadOtelApi(): Promise<OtelApiModule | undefined> {
  loading ??= import('@opentelemetry/api').then(
    (api) => (loaded = api),
    () => undefined,
  );
  return loading;
}

/** The API if `loadOtelApi` has found it, else undefined. */
export function otelApi(): OtelApiModule | undefined {
  return loaded;
}
