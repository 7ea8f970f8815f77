import { isStewardErrorCode, StewardError } from '@steward/core';
import { readServerInfo, readToken } from './data-dir.js';

/**
 * A failure a client command reports: a StewardError with the server's code and
 * message. A code that is none of the library's (an `HTTP_502` from a proxy, say)
 * becomes STEWARD_INTERNAL, and is kept in `serverCode` and at the start of the message.
 */
export class CliError extends StewardError {
  /** The code as the server sent it, when it is none of the library's. */
  readonly serverCode: string | undefined;

  constructor(code: string, message: string) {
    const known = isStewardErrorCode(code);
    super(known ? code : 'STEWARD_INTERNAL', known ? message : `${code}: ${message}`);
    this.serverCode = known ? undefined : code;
  }
}

/** A task id in full (a UUID), which needs no prefix lookup. */
const FULL_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** How to start a server on `dataDir`, for the hint of a client that found none. */
export function startHint(dataDir: string): string {
  return `start one with: steward serve --data ${dataDir} --config <your steward.config.mjs> (or, in a clone of Steward, npm start, which serves ./.steward with the example config)`;
}

/** Talks to the server whose address and token are in the data directory. */
export class Client {
  readonly url: string;
  readonly #token: string;
  readonly #dataDir: string;

  constructor(dataDir: string) {
    this.#dataDir = dataDir;
    const info = readServerInfo(dataDir);
    const token = readToken(dataDir);
    if (info === undefined || token === undefined) {
      throw new CliError('STEWARD_NO_SERVER', `no running server found in ${dataDir}; ${startHint(dataDir)}`);
    }
    this.url = info.url;
    this.#token = token;
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`${this.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${this.#token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (error) {
      throw new CliError('STEWARD_NO_SERVER', `cannot reach ${this.url}: ${(error as Error).message}; ${startHint(this.#dataDir)}`);
    }
    const json = (await response.json().catch(() => ({}))) as { error?: { code: string; message: string } };
    if (!response.ok) throw new CliError(json.error?.code ?? `HTTP_${response.status}`, json.error?.message ?? response.statusText);
    return json as T;
  }

  /**
   * The whole id of the task `idOrPrefix` names: the id itself, or the one task whose
   * id starts with it (as `steward status` prints ids, 8 characters). A prefix that
   * fits several tasks is refused with the candidates; one that fits none is not found.
   */
  async resolveId(idOrPrefix: string): Promise<string> {
    if (FULL_ID.test(idOrPrefix) || idOrPrefix === '') return idOrPrefix;
    const matches: string[] = [];
    const page = 10_000;
    for (let offset = 0; ; offset += page) {
      const { tasks } = await this.request<{ tasks: Array<{ id: string }> }>('GET', `/api/tasks?limit=${page}&offset=${offset}`);
      for (const task of tasks) if (task.id.startsWith(idOrPrefix)) matches.push(task.id);
      if (tasks.length < page) break;
    }
    if (matches.length === 1 || matches.includes(idOrPrefix)) return matches.length === 1 ? (matches[0] as string) : idOrPrefix;
    if (matches.length === 0) {
      // Maybe an id of another form (a custom id that is not a UUID): let the server say.
      return idOrPrefix;
    }
    const shown = matches.slice(0, 10).join(', ');
    throw new CliError('STEWARD_AMBIGUOUS_ID', `"${idOrPrefix}" is the start of ${matches.length} task ids: ${shown}${matches.length > 10 ? ', ...' : ''}; give more characters`);
  }

  /** Streams the lines of a newline-delimited JSON response. */
  async *lines(path: string): AsyncIterable<unknown> {
    const response = await fetch(`${this.url}${path}`, { headers: { authorization: `Bearer ${this.#token}` } });
    if (!response.ok || response.body === null) {
      const json = (await response.json().catch(() => ({}))) as { error?: { code: string; message: string } };
      throw new CliError(json.error?.code ?? `HTTP_${response.status}`, json.error?.message ?? response.statusText);
    }
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let newline = buffer.indexOf('\n');
      while (newline !== -1) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        if (line.trim() !== '') yield JSON.parse(line);
        newline = buffer.indexOf('\n');
      }
    }
  }
}
