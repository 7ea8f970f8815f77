import { InvalidStateError } from '../model/errors.js';

/**
 * What cluster mode does not carry yet: a command says so instead of doing something
 * node-local; the reads in `reads` answer that there is nothing (a dashboard still shows).
 */
export function notInCluster<T extends object>(what: string, reads: Partial<T> = {}): T {
  return new Proxy({} as T, {
    get: (_target, name) =>
      Object.hasOwn(reads, name)
        ? reads[name as keyof T]
        : () => {
            throw new InvalidStateError(`${what}.${String(name)}: not available in cluster mode yet`);
          },
  });
}
