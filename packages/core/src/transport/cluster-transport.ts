import type { ClusterBackend } from './cluster-backend.js';
import { ClusterEngine } from './cluster-engine.js';
import type { Transport } from './transport.js';

/**
 * A transport over a shared store (see ClusterBackend): every node of the cluster
 * shares one journal and one claim queue, and runs what it claims on its own engine.
 */
export function clusterTransport(backend: ClusterBackend): Transport {
  return { kind: 'cluster', connect: (node) => ClusterEngine.connect(node, backend) };
}
