import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createRuntime, type Runtime, type RuntimeOptions, type TaskDefinition } from '@steward/core';
import { createHttpHost, type HttpHost } from '../http/http-host.js';
import { processExecutor, type ProcessExecutor } from '../process-executor.js';
import { ensureToken, removeServerInfo, writeServerInfo } from './data-dir.js';

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
  log?: (line: string) => void;
}

/** The task type that runs commands sent with `steward add -- <command>`. */
export const COMMAND_TYPE = 'command';

/** Loads a config module: `--config`, else ./steward.config.mjs if present, else nothing. */
export async function loadServeConfig(path: string | undefined): Promise<ServeConfig> {
  const configPath = path ?? (existsSync('steward.config.mjs') ? 'steward.config.mjs' : undefined);
  if (configPath === undefined) return {};
  return ((await import(pathToFileURL(resolve(configPath)).href)) as { default?: ServeConfig }).default ?? {};
}

/** A runtime on `dataDir` with the config's task types and the process executor (with its allow list). */
export async function startRuntime(dataDir: string, config: ServeConfig, extraAllow: string[]): Promise<{ rt: Runtime; processes: ProcessExecutor; allow: string[] }> {
  const { tasks, allow: configAllow, ...runtimeOptions } = config;
  const allow = [...(configAllow ?? []), ...extraAllow];
  const processes = processExecutor(allow.length > 0 ? { allow } : {});
  const rt = await createRuntime({ ...runtimeOptions, dataDir, executors: [processes] });
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

/** Starts a runtime on `dataDir` with the HTTP host; returns a stop function. */
export async function serve(options: ServeOptions): Promise<{ host: HttpHost; stop: () => Promise<void> }> {
  const log = options.log ?? ((line: string) => console.log(line));
  const { rt, processes, allow } = await startRuntime(options.dataDir, await loadServeConfig(options.config), options.allow ?? []);
  const { token, created, path } = ensureToken(options.dataDir);
  const host = await createHttpHost(rt, {
    token,
    host: options.host,
    port: options.port,
    ...(allow.length > 0 ? { commands: { type: COMMAND_TYPE, executor: processes } } : {}),
  });
  writeServerInfo(options.dataDir, { url: host.url, pid: process.pid });
  log(`steward: serving ${host.url} (data in ${options.dataDir})`);
  if (created) {
    log(`steward: token (shown once; also in ${path}): ${token}`);
    log(`steward: dashboard ${host.url}/#token=${token}`);
  } else log(`steward: token in ${path}; dashboard ${host.url}/ (paste the token, or add #token=<token>)`);
  if (allow.length > 0) log(`steward: commands allowed over HTTP: ${allow.join(', ')}`);
  log(`steward: try  curl -H "Authorization: Bearer $(cat ${path})" ${host.url}/api/tasks`);
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      removeServerInfo(options.dataDir);
      await host.close();
      await rt.shutdown({ timeoutMs: 5_000 });
    })();
    return stopping;
  };
  return { host, stop };
}
