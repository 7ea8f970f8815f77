// One worker node of the cluster scenario, as a process of its own:
// node cluster-node.js <port> <prefix> <nodeId> <concurrency>.
// Joins the cluster on the given Redis, defines `sleep50` (awaits a 50 ms timer) and
// `noop` (returns 1), prints READY once joined, and shuts down on SIGTERM.
import { createRuntime } from '@steward/core';
import { bullmqTransport } from '@steward/adapters';

const [port, prefix, nodeId, concurrency] = process.argv.slice(2) as [string, string, string, string];

// Types given at creation: the node is claiming them when createRuntime resolves, so READY means ready.
const rt = await createRuntime({
  concurrency: Number(concurrency),
  transport: bullmqTransport({ connection: { host: '127.0.0.1', port: Number(port) }, prefix, nodeId, stalledIntervalMs: 5_000 }),
  tasks: {
    sleep50: { handler: () => new Promise((resolve) => setTimeout(() => resolve(1), 50)) },
    noop: { handler: () => 1 },
  },
});

process.once('SIGTERM', () => void rt.shutdown().then(() => process.exit(0)));
process.stdout.write('READY\n');
