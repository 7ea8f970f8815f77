import { logStoreConformance } from '../src/conformance.js';
import { MemoryLogStore } from '../src/index.js';

logStoreConformance('MemoryLogStore', {
  async open(options) {
    return { store: new MemoryLogStore(options) };
  },
});
