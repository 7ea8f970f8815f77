// `STEWARD_BENCH_TRACING=1`: a scenario registers, before it creates runtimes, what a
// user's OpenTelemetry setup would (a BasicTracerProvider whose batch processor hands
// spans to an exporter that drops them, and an AsyncLocalStorage context manager), so
// the figures with and without show what Steward's spans cost. Without it nothing is
// registered and the runtime does no span work at all.
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, BatchSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';

/** Whether this run traces (the environment variable is set to 1). */
export const BENCH_TRACING = process.env.STEWARD_BENCH_TRACING === '1';

/** Exports nothing: the spans are made, processed and batched, then dropped. */
class DroppingExporter implements SpanExporter {
  exported = 0;
  export(spans: ReadableSpan[], done: (result: { code: 0 }) => void): void {
    this.exported += spans.length;
    done({ code: 0 });
  }
  async shutdown(): Promise<void> {}
}

let registered = false;

/** Registers the provider once per process when BENCH_TRACING; a no-op otherwise. */
export function registerBenchTracing(): void {
  if (!BENCH_TRACING || registered) return;
  registered = true;
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(new DroppingExporter())] }));
}
