import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The data directory: `--data`, else $STEWARD_DATA, else ./.steward. */
export function resolveDataDir(option: string | undefined): string {
  return resolve(option ?? process.env.STEWARD_DATA ?? '.steward');
}

/**
 * The server's token: the one in the data directory, or a new one that is not yet
 * written (`created`). Call {@link saveToken} once the server listens, so that a
 * start that fails (a busy port) leaves nothing behind and the next start that works
 * is the one that shows the new token.
 */
export function loadToken(dataDir: string): { token: string; created: boolean; path: string } {
  const path = join(dataDir, 'token');
  if (existsSync(path)) return { token: readFileSync(path, 'utf8').trim(), created: false, path };
  return { token: randomBytes(32).toString('hex'), created: true, path };
}

/** Writes a token made by {@link loadToken} (mode 0600, never over an existing file). */
export function saveToken(dataDir: string, token: string): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, 'token');
  writeFileSync(path, `${token}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(path, 0o600);
}

/** The server's token, created on first start (mode 0600). `created` tells whether it is new. */
export function ensureToken(dataDir: string): { token: string; created: boolean; path: string } {
  const loaded = loadToken(dataDir);
  if (loaded.created) saveToken(dataDir, loaded.token);
  return loaded;
}

/** Where a running server is, for the client commands. */
export interface ServerInfo {
  url: string;
  pid: number;
}

export function writeServerInfo(dataDir: string, info: ServerInfo): void {
  writeFileSync(join(dataDir, 'server.json'), `${JSON.stringify(info)}\n`, { mode: 0o600 });
}

export function readServerInfo(dataDir: string): ServerInfo | undefined {
  try {
    return JSON.parse(readFileSync(join(dataDir, 'server.json'), 'utf8')) as ServerInfo;
  } catch {
    return undefined;
  }
}

export function removeServerInfo(dataDir: string): void {
  rmSync(join(dataDir, 'server.json'), { force: true });
}

export function readToken(dataDir: string): string | undefined {
  try {
    return readFileSync(join(dataDir, 'token'), 'utf8').trim();
  } catch {
    return undefined;
  }
}
