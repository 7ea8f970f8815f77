import type { FastifyReply } from 'fastify';
import { StewardError, type StewardErrorCode } from '@steward/core';
import type { z } from 'zod';

/** HTTP status of each StewardError code; anything else is a 500. */
const STATUS: Record<string, number> = {
  STEWARD_INVALID_OPTIONS: 400,
  STEWARD_INVALID_JSON: 400,
  STEWARD_UNKNOWN_TASK_TYPE: 400,
  STEWARD_NOT_SERIALIZABLE: 400,
  STEWARD_UNAUTHORIZED: 401,
  STEWARD_FORBIDDEN: 403,
  STEWARD_COMMAND_NOT_ALLOWED: 403,
  STEWARD_TASK_NOT_FOUND: 404,
  STEWARD_WORKFLOW_NOT_FOUND: 404,
  STEWARD_SCHEDULE_NOT_FOUND: 404,
  STEWARD_NOT_FOUND: 404,
  STEWARD_INVALID_STATE: 409,
  STEWARD_PAYLOAD_TOO_LARGE: 413,
  STEWARD_UNSUPPORTED_MEDIA_TYPE: 415,
  STEWARD_QUEUE_FULL: 429,
  STEWARD_SHUTTING_DOWN: 503,
};

/** The status for a code. */
export function statusOf(code: string): number {
  return STATUS[code] ?? 500;
}

/** An error the HTTP layer answers itself (auth, host checks, bad JSON): a StewardError with the HTTP status of its code. */
export class HttpError extends StewardError {
  /** The HTTP status the host answers with. */
  readonly status: number;

  constructor(
    code: StewardErrorCode,
    message: string,
    readonly path?: string,
  ) {
    super(code, message);
    this.status = statusOf(code);
  }
}

/**
 * Builds an HttpError from a zod failure: code STEWARD_INVALID_OPTIONS, the first
 * bad field's path. An unknown key is itself the bad field (zod puts it in `keys`,
 * with the path of the object that holds it).
 */
export function fromZod(prefix: string, error: z.ZodError): HttpError {
  const issue = error.issues[0];
  const keys = issue?.code === 'unrecognized_keys' ? issue.keys : [];
  const path = [prefix, ...(issue?.path ?? []).map(String), ...keys.slice(0, 1)].filter((p) => p !== '').join('.');
  const message = keys.length === 0 ? issue?.message ?? 'invalid' : keys.length === 1 ? 'unknown field' : `unknown fields ${keys.map((k) => `"${k}"`).join(', ')}`;
  return new HttpError('STEWARD_INVALID_OPTIONS', path === '' ? message : `${path}: ${message}`, path === '' ? undefined : path);
}

/** Sends `{ error: { code, message, path? } }` with the status its code maps to. */
export function sendError(reply: FastifyReply, error: unknown): FastifyReply {
  if (error instanceof HttpError) {
    return reply.code(error.status).send({ error: { code: error.code, message: error.message, ...(error.path === undefined ? {} : { path: error.path }) } });
  }
  if (error instanceof StewardError) {
    // Library messages start with the option path: offer it as `path` too.
    const path = /^([\w.[\]"-]+?)(?::| must| is| needs)/.exec(error.message)?.[1];
    return reply.code(statusOf(error.code)).send({ error: { code: error.code, message: error.message, ...(error.code === 'STEWARD_INVALID_OPTIONS' && path !== undefined ? { path } : {}) } });
  }
  const fastifyError = error as { code?: string; statusCode?: number; message?: string };
  if (fastifyError.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return sendError(reply, new HttpError('STEWARD_PAYLOAD_TOO_LARGE', 'the body is larger than the limit'));
  if (fastifyError.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    const sent = reply.request.headers['content-type']?.split(';')[0]?.trim();
    return sendError(reply, new HttpError('STEWARD_UNSUPPORTED_MEDIA_TYPE', `the body must be application/json, not ${sent ? sent : 'untyped (no content-type header)'}`));
  }
  if (fastifyError.statusCode === 400 || fastifyError.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || fastifyError.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    return sendError(reply, new HttpError('STEWARD_INVALID_JSON', `the body is not valid JSON: ${fastifyError.message ?? ''}`));
  }
  return reply.code(500).send({ error: { code: 'STEWARD_INTERNAL', message: 'internal error' } });
}
