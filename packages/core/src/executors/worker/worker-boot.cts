// The file Piscina loads in each thread. It is CommonJS on purpose.
//
// Piscina loads its entry with require() before it tries import(). On Node 20.19+ that
// require() of an ES module runs Node's synchronous require(esm) path. A thread
// terminated while that path instantiates the module (a timeout, a cancel, a pool
// being destroyed, a thread over its memory limit) aborts the whole host process with
// "FATAL ERROR: v8::Module::IsGraphAsync must be used on an instantiated module".
// A CommonJS entry keeps require() on the CommonJS loader; the thread's real entry is
// then loaded with import(), whose asynchronous path survives termination.
import type { WorkerBatch, WorkerReply, WorkerTask } from './worker-protocol.js';

type Run = (work: WorkerTask | WorkerBatch) => Promise<WorkerReply | number>;

let loaded: Promise<Run> | undefined;

function boot(work: WorkerTask | WorkerBatch): Promise<WorkerReply | number> {
  loaded ??= import('./worker-entry.js').then((entry) => entry.default);
  return loaded.then((run) => run(work));
}

export = boot;
