import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createRuntime, type Runtime, type RuntimeOptions, type TaskDefinition } from '@steward/core';
import { createHttpHost, type HttpHost } from '../http/http-host.js';
import { processExecutor, type ProcessExecutor } from '../process/process-executor.js';
import { bullmqTransport } from '../cluster/bullmq-transport.js';
import { CliError } from '../client/client.js';
import { loadToken, removeServerInfo, saveToken, writeServerInfo } from '../client/data-dir.js';

/** What a config file (`steward.config.mjs`) exports by default. */
export interface ServeConfig extends Omit<RuntimeOptions, 'dataDir' | 'executors' | 'tasks'> {
  /** Task types, as `define()` takes them. */
  tasks?: Record<string, TaskDefinition>;
  /** Executables that may run: for process task types and for commands sent over HTTP. */
  allow?: string[];
}

/** Options of `steward serve`. */
export interface ServeOptions {
  dataDir: string;
  config?: string;
  port: number;
  host: string;
  allow?: string[];
  /** Cluster mode: join the cluster on this Redis (`redis://host:port`) instead of keeping the journal in `dataDir`. */
  redis?: string;
  /** The cluster's key prefix in Redis (default `steward`). */
  prefix?: string;
  /** This node's name in the cluster (default: host name and pid). */
  nodeId?: string;
  log?: (line: string) => void;
}

/** Where a served runtime keeps its tasks: its data directory, or a cluster on Redis. */
export type ServeStore = { readonly dataDir: string } | { readonly cluster: { readonly redis: string; readonly prefix?: string; readonly nodeId?: string } };

/** The task type that runs commands sent with `steward add -- <command>`. */
export const COMMAND_TYPE = 'command';

/** Loads a config module: `--config`, else ./steward.config.mjs if present, else nothing. */
export async function loadServeConfig(path: string | undefined): Promise<ServeConfig> {
  const configPath = path ?? (existsSync('steward.config.mjs') ? 'steward.config.mjs' : undefined);
  if (configPath === undefined) return {};
  return ((await import(pathToFileURL(resolve(configPath)).href)) as { default?: ServeConfig }).default ?? {};
}

/** A runtime on `dataDir` with the config's task types and the process executor (with its allow list). */
export async function startRuntime(store: ServeStore, config: ServeConfig, extraAllow: string[]): Promise<{ rt: Runtime; processes: ProcessExecutor; allow: string[] }> {
  const { tasks, allow: configAllow, ...runtimeOptions } = config;
  const allow = [...(configAllow ?? []), ...extraAllow];
  const processes = processExecutor(allow.length > 0 ? { allow } : {});
  const where =
    'dataDir' in store
      ? { dataDir: store.dataDir }
      : { transport: bullmqTransport({ connection: store.cluster.redis, ...(store.cluster.prefix === undefined ? {} : { prefix: store.cluster.prefix }), ...(store.cluster.nodeId === undefined ? {} : { nodeId: store.cluster.nodeId }) }) };
  const rt = await createRuntime({ ...runtimeOptions, ...where, executors: [processes] });
  for (const [type, definition] of Object.entries(tasks ?? {})) rt.define(type, definition);
  // Commands sent over HTTP run only through the allow list.
  if (allow.length > 0) {
    rt.define(COMMAND_TYPE, {
      command: (input: { command: string }) => input.command,
      args: (input: { args?: string[] }) => input.args ?? [],
      cwd: (input: { cwd?: string }) => input.cwd,
    });
  }
  return { rt, processes, allow };
}

/** How long running work gets to finish when the server stops. */
export const STOP_GRACE_MS = 5_000;

/**
 * Starts a runtime on `dataDir` with the HTTP host; returns a stop function. The
 * token is written only once the host listens, and `server.json` (what clients and
 * scripts wait for) only after every startup line is printed.
 */
export async function serve(options: ServeOptions): Promise<{ host: HttpHost; stop: (signal?: string) => Promise<void> }> {
  const log = options.log ?? ((line: string) => console.log(line));
  const store: ServeStore =
    options.redis === undefined
      ? { dataDir: options.dataDir }
      : { cluster: { redis: options.redis, ...(options.prefix === undefined ? {} : { prefix: options.prefix }), ...(options.nodeId === undefined ? {} : { nodeId: options.nodeId }) } };
  const { rt, processes, allow } = await startRuntime(store, await loadServeConfig(options.config), options.allow ?? []);
  const { token, created, path } = loadToken(options.dataDir);
  let host: HttpHost;
  try {
    host = await createHttpHost(rt, {
      token,
      host: options.host,
      port: options.port,
      ...(allow.length > 0 ? { commands: { type: COMMAND_TYPE, executor: processes } } : {}),
    });
  } catch (error) {
    await rt.shutdown({ timeoutMs: 0 });
    throw listenError(error, options);
  }
  if (created) saveToken(options.dataDir, token);
  log(
    options.redis === undefined
      ? `steward: serving ${host.url} (data in ${options.dataDir})`
      : `steward: serving ${host.url}: node ${rt.node ?? '?'} of the cluster at ${redacted(options.redis)} (prefix ${options.prefix ?? 'steward'}; token and server file in ${options.dataDir})`,
  );
  if (created) {
    log(`steward: token (shown once; also in ${path}): ${token}`);
    log(`steward: dashboard ${host.url}/#token=${token}`);
  } else log(`steward: token in ${path}; dashboard ${host.url}/ (paste the token, or add #token=<token>)`);
  if (allow.length > 0) log(`steward: commands allowed over HTTP: ${allow.join(', ')}`);
  log(`steward: try  curl -H "Authorization: Bearer $(cat ${path})" ${host.url}/api/tasks`);
  writeServerInfo(options.dataDir, { url: host.url, pid: process.pid });
  let stopping: Promise<void> | undefined;
  const stop = (signal?: string) => {
    if (stopping === undefined && signal !== undefined) log(stoppingLine(rt, signal));
    stopping ??= (async () => {
      removeServerInfo(options.dataDir);
      await host.close();
      await rt.shutdown({ timeoutMs: STOP_GRACE_MS });
    })();
    return stopping;
  };
  return { host, stop };
}

/** What stopping does to the work in hand, said when a signal stops the server. */
function stoppingLine(rt: Runtime, signal: string): string {
  const { running, queued, retrying, waiting } = rt.queueStatus({ limit: 0 });
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  const parts = ['no new task starts'];
  if (running > 0) {
    parts.push(
      `${plural(running, 'running task')} ${running === 1 ? 'has' : 'have'} up to ${STOP_GRACE_MS / 1000}s to finish; ` +
        `what is still running then is stopped and runs again on the next start`,
    );
  } else parts.push('nothing is running');
  const later = queued + retrying + waiting;
  if (later > 0) parts.push(`${plural(later, 'waiting task')} stay${later === 1 ? 's' : ''} in the journal for the next start`);
  return `steward: stopping (${signal}): ${parts.join('; ')}. ${signal === 'SIGINT' ? 'Ctrl-C again stops at once.' : ''}`.trimEnd();
}

/** A Redis URL fit to print: without its password. */
function redacted(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}

/** A failed listen in words a person can act on: which port, and how to pick another. */
function listenError(error: unknown, options: ServeOptions): Error {
  const code = (error as { code?: string }).code;
  if (code === 'EADDRINUSE') {
    const next = options.port === 0 ? 4781 : options.port + 1;
    return new CliError(
      'STEWARD_PORT_IN_USE',
      `port ${options.port} is already in use on ${options.host} (another steward serve?); ` +
        `choose another with --port, e.g. steward serve --port ${next} (from a clone of Steward: npm start -- --port ${next}), or --port 0 for any free port`,
    );
  }
  if (code === 'EACCES') {
    return new CliError('STEWARD_PORT_DENIED', `port ${options.port} on ${options.host} needs privileges this user lacks; choose a port above 1024 with --port`);
  }
  return error as Error;
}
