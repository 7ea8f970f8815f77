import { createRuntime } from './api/create-runtime.js';
import type { Runtime } from './api/runtime.js';
import type { RuntimeOptions } from './model/options.js';

export { ManualClock } from './time/manual-clock.js';

/** Runs `fn` with a fresh runtime and always shuts it down after, even when `fn` throws. */
export async function withRuntime<T>(options: RuntimeOptions, fn: (rt: Runtime) => Promise<T>): Promise<T> {
  const rt = await createRuntime(options);
  try {
    return await fn(rt);
  } finally {
    await rt.shutdown({ timeoutMs: 0 });
  }
}
