// `STEWARD_BENCH_TRACING=1`: noop-throughput adds Steward contenders that run with an
// OpenTelemetry tracer provider registered, alternating with the plain ones in the same
// process so the figures compare directly. What is registered is what a user's setup
// would be: a BasicTracerProvider whose batch processor hands the spans to an exporter
// that drops them, and an AsyncLocalStorage context manager. It is registered only
// while a traced contender runs; the plain contenders run with nothing registered, so
// their runtimes do no span work at all.
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, BatchSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';

/** Whether this run adds the traced contenders (the environment variable is set to 1). */
export const BENCH_TRACING = process.env.STEWARD_BENCH_TRACING === '1';

/** Exports nothing: the spans are made, processed and batched, then dropped. */
class DroppingExporter implements SpanExporter {
  export(_spans: ReadableSpan[], done: (result: { code: 0 }) => void): void {
    done({ code: 0 });
  }
  async shutdown(): Promise<void> {}
}

let provider: BasicTracerProvider | undefined;
const contextManager = new AsyncLocalStorageContextManager();

/** Registers the provider and the context manager (before the runtime is created: it looks once). */
export function startTracing(): void {
  provider ??= new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(new DroppingExporter())] });
  context.setGlobalContextManager(contextManager.enable());
  trace.setGlobalTracerProvider(provider);
}

/** Unregisters both, so the next contender runs without. */
export function stopTracing(): void {
  trace.disable();
  context.disable();
}
