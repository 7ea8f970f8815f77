import { logStoreConformance } from '../src/conformance.js';
import { MemoryLogStore } from '../src/index.js';

logStoreConformance('MemoryLogStore', {
  async open() {
    return { store: new MemoryLogStore() };
  },
});
