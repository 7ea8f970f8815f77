// `@steward/core/transport`: what a transport author needs. The contract (where task
// state lives and how a ready task is claimed), the cluster transport over any shared
// store that offers a ClusterBackend, an in-memory store for tests, and the conformance
// suite every transport must pass. The suite imports `node:test`: import this entry
// from tests, or only for types, in code that runs in production.
export { localTransport, type ClaimedTask, type Transport, type TransportNode } from './transport/transport.js';
export { clusterTransport } from './transport/cluster-transport.js';
export type { ClusterBackend, ControlMessage, EnqueuedTask, NumberedChunk } from './transport/cluster-backend.js';
export { MemoryCluster } from './transport/memory-cluster.js';
export { clusterConformance } from './transport/cluster-conformance.js';
export { transportConformance, type TransportConformanceFactory, type TransportUnderTest } from './transport/conformance.js';
export type { JournalRecord } from './journal/journal-record.js';
