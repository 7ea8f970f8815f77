import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { embeddedBackend, serverBackend, type StewardBackend } from '../mcp/backend.js';
import { createMcpServer } from '../mcp/mcp-server.js';
import { Client } from '../client/client.js';
import { readServerInfo } from '../client/data-dir.js';
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
    const { rt } = await startRuntime({ dataDir: options.dataDir }, await loadServeConfig(options.config), []);
    backend = embeddedBackend(rt);
  }
  const server = createMcpServer(backend);
  const transport = new StdioServerTransport();
  // One close, whoever asks first: the client going away (stdin ends), SIGTERM, or
  // the transport itself. The flag is set before server.close() runs, because that
  // closes the transport, whose onclose comes straight back here: without it each
  // call started another close, until the stack overflowed.
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    if (closing !== undefined) return closing;
    let done!: () => void;
    closing = new Promise<void>((resolve) => (done = resolve));
    void (async () => {
      await server.close().catch(() => undefined);
      await backend.close().catch((error: unknown) => console.error(`steward mcp: ${(error as Error).message ?? String(error)}`));
      done();
    })();
    return closing;
  };
  // The client went away: nothing is left to answer, so stop and exit with success.
  const closeAndExit = () => void close().then(() => process.exit(0));
  transport.onclose = closeAndExit;
  process.stdin.once('end', closeAndExit);
  process.once('SIGTERM', closeAndExit);
  await server.connect(transport);
  // Logs go to stderr: stdout belongs to the protocol.
  console.error(`steward mcp: ready (${backend.mode === 'server' ? `talking to ${info?.url}` : `embedded runtime on ${options.dataDir}`})`);
}
