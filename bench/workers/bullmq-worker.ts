// A BullMQ worker in a second process, for the durable-vs-bullmq scenario:
// node bullmq-worker.js <port> <queue> <concurrency>. Prints "ready" once listening.
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';

const [port, name, concurrency] = process.argv.slice(2);
const connection = new Redis({ host: '127.0.0.1', port: Number(port), maxRetriesPerRequest: null });
const worker = new Worker(name as string, async () => 1, { connection, concurrency: Number(concurrency) });
await worker.waitUntilReady();
process.stdout.write('ready\n');
process.once('SIGTERM', () => void worker.close().then(() => connection.quit()).then(() => process.exit(0)));
