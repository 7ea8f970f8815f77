#!/usr/bin/env node
// The installed `steward` command: runs the compiled CLI (build first: npm run build).
await import('../dist/src/cli/main.js');
