import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The data directory: `--data`, else $STEWARD_DATA, else ./.steward. */
export function resolveDataDir(option: string | undefined): string {
  return resolve(option ?? process.env.STEWARD_DATA ?? '.steward');
}

/** The server's token, created on first start (mode 0600). `created` tells whether it is new. */
export function ensureToken(dataDir: string): { token: string; created: boolean; path: string } {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, 'token');
  if (existsSync(path)) return { token: readFileSync(path, 'utf8').trim(), created: false, path };
  const token = randomBytes(32).toString('hex');
  writeFileSync(path, `${token}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(path, 0o600);
  return { token, created: true, path };
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
