import { clusterTransport } from '../src/transport/cluster-transport.js';
import { clusterConformance } from '../src/transport/cluster-conformance.js';
import { transportConformance } from '../src/transport/conformance.js';
import { localTransport } from '../src/transport/transport.js';
import { MemoryCluster } from '../src/transport/memory-cluster.js';

// The suite on the local transport (today's journal and ready queue, also as the explicit
// localTransport()) and on the cluster transport over the in-memory shared store. The
// same suite runs on bullmqTransport with a real redis-server in @steward/adapters.

transportConformance('the local transport (default)', {
  open: async () => ({ options: () => ({}), close: async () => undefined }),
});

transportConformance('the local transport (localTransport())', {
  open: async () => ({ options: () => ({ transport: localTransport() }), close: async () => undefined }),
});

transportConformance('the cluster transport on an in-memory store', {
  open: async () => {
    const cluster = new MemoryCluster();
    let nodes = 0;
    return { options: () => ({ transport: clusterTransport(cluster.backend(`node-${++nodes}`)) }), close: async () => undefined };
  },
});

clusterConformance('the cluster transport on an in-memory store', {
  open: async () => {
    const cluster = new MemoryCluster();
    let nodes = 0;
    return { options: () => ({ transport: clusterTransport(cluster.backend(`node-${++nodes}`)) }), close: async () => undefined };
  },
});
