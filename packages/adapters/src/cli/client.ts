import { readServerInfo, readToken } from './data-dir.js';

/** A failure a client command reports: the server's error code and message. */
export class CliError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Talks to the server whose address and token are in the data directory. */
export class Client {
  readonly url: string;
  readonly #token: string;

  constructor(dataDir: string) {
    const info = readServerInfo(dataDir);
    const token = readToken(dataDir);
    if (info === undefined || token === undefined) {
      throw new CliError('STEWARD_NO_SERVER', `no running server found in ${dataDir}; start one with: steward serve --data ${dataDir}`);
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
      throw new CliError('STEWARD_NO_SERVER', `cannot reach ${this.url}: ${(error as Error).message}`);
    }
    const json = (await response.json().catch(() => ({}))) as { error?: { code: string; message: string } };
    if (!response.ok) throw new CliError(json.error?.code ?? `HTTP_${response.status}`, json.error?.message ?? response.statusText);
    return json as T;
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
