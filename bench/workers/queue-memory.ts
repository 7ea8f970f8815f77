// Measures memory per queued task in a fresh process (run with --expose-gc):
// node --expose-gc queue-memory.js <steward|p-queue> <count>. Prints one JSON line.
import PQueue from 'p-queue';
import { createRuntime } from '@steward/core';

const [system, countText] = process.argv.slice(2);
const count = Number(countText);
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

function reading() {
  gc();
  gc();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed };
}

let before: ReturnType<typeof reading>;
let after: ReturnType<typeof reading>;
if (system === 'steward') {
  const rt = await createRuntime({ concurrency: 1, maxQueue: count + 10, snapshotEvery: 100_000_000 });
  rt.define('hold', { handler: () => new Promise(() => undefined) });
  await rt.submit('hold');
  await new Promise((r) => setTimeout(r, 10));
  before = reading();
  for (let i = 0; i < count; i++) await rt.submit('hold', { n: i });
  after = reading();
  if (rt.queueStatus({ limit: 0 }).queued !== count) throw new Error('not everything queued');
} else {
  const queue = new PQueue({ concurrency: 1 });
  void queue.add(() => new Promise(() => undefined));
  before = reading();
  for (let i = 0; i < count; i++) void queue.add(async () => i);
  after = reading();
  if (queue.size !== count) throw new Error('not everything queued');
}
process.stdout.write(`${JSON.stringify({ rssPerTask: (after.rss - before.rss) / count, heapPerTask: (after.heap - before.heap) / count })}\n`);
process.exit(0);
