import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { embeddedBackend, serverBackend, type StewardBackend } from '../mcp/backend.js';
import { createMcpServer } from '../mcp/mcp-server.js';
import { Client } from './client.js';
import { readServerInfo } from './data-dir.js';
import { loadServeConfig, startRuntime } from './serve.js';

/**
 * `steward mcp`: the MCP server over stdio. With a server running on the data
 * directory it talks to that server; otherwise it runs an embedded runtime there
 * (with the same config file `serve` takes).
 */
export async function runMcp(options: { dataDir: string; config?: string }): Promise<void> {
  let backend: StewardBackend;
  const info = readServerInfo(options.dataDir);
  const reachable = info !== undefined && (await fetch(`${info.url}/health`).then((r) => r.ok, () => false));
  if (reachable) {
    backend = serverBackend(new Client(options.dataDir));
  } else {
    const { rt } = await startRuntime(options.dataDir, await loadServeConfig(options.config), []);
    backend = embeddedBackend(rt);
  }
  const server = createMcpServer(backend);
  const transport = new StdioServerTransport();
  let closing: Promise<void> | undefined;
  const close = () => (closing ??= (async () => {
    await server.close().catch(() => undefined);
    await backend.close();
  })());
  transport.onclose = () => void close();
  process.stdin.on('end', () => void close());
  process.once('SIGTERM', () => void close().then(() => process.exit(0)));
  await server.connect(transport);
  // Logs go to stderr: stdout belongs to the protocol.
  console.error(`steward mcp: ready (${backend.mode === 'server' ? `talking to ${info?.url}` : `embedded runtime on ${options.dataDir}`})`);
}
