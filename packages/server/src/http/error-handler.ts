import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ERROR_CODES, type ErrorBody, type ErrorCode } from '@latchkey/api';
import { LatchkeyError } from '../errors.js';
import { isStoreUnavailable } from '../store/errors.js';

/** Builds the error body of DESIGN §11. */
export function errorBody(err: LatchkeyError, requestId: string): ErrorBody {
  return {
    error: {
      code: err.code,
      message: err.message,
      ...(err.details ? { details: err.details } : {}),
      request_id: requestId,
    },
  };
}

/** Sends a LatchkeyError as the typed error response (also from hijacked routes via `reply.raw`). */
export function sendError(reply: FastifyReply, err: LatchkeyError): void {
  const body = JSON.stringify(errorBody(err, reply.request.id));
  const headers: Record<string, string> = {
    'content-type': 'application/json; charset=utf-8',
    'latchkey-error': '1',
    'x-request-id': reply.request.id,
    ...(err.headers ?? {}),
  };
  // A deprecated key is told so on every response, refusals of hijacked (streaming) doors included.
  const deprecated = reply.getHeader('latchkey-key-deprecated');
  if (deprecated) headers['latchkey-key-deprecated'] = String(deprecated);
  // A hijacked reply counts as sent for Fastify; what matters is whether headers went out.
  if (reply.raw.headersSent) {
    reply.raw.destroy();
    return;
  }
  if (reply.raw.writableEnded) return;
  reply.raw.writeHead(err.status, { ...headers, 'content-length': Buffer.byteLength(body) });
  reply.raw.end(body);
}

/** Turns any thrown error into a typed LatchkeyError without leaking driver or parser internals. */
export function toLatchkeyError(err: unknown): LatchkeyError {
  if (err instanceof LatchkeyError) return err;
  const fe = err as FastifyError & { validation?: { instancePath?: string; message?: string; params?: unknown }[] };
  if (fe?.validation) {
    const issues = fe.validation.slice(0, 20).map((v) => ({
      path: (v.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.') || fe.validationContext || '',
      message: v.message ?? 'invalid',
    }));
    return new LatchkeyError('invalid_request', { details: { location: fe.validationContext, issues } });
  }
  switch (fe?.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new LatchkeyError('payload_too_large');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new LatchkeyError('unsupported_media_type');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new LatchkeyError('invalid_request', { message: 'The request body is not valid JSON.' });
  }
  if (
    fe?.statusCode === 400 ||
    (err instanceof SyntaxError && fe?.statusCode === undefined && /JSON/.test(String(fe.message)))
  ) {
    return new LatchkeyError('invalid_request');
  }
  if (isStoreUnavailable(err)) {
    return new LatchkeyError('service_unavailable', { headers: { 'retry-after': '1' }, cause: err });
  }
  if (fe?.statusCode === 413) return new LatchkeyError('payload_too_large');
  if (fe?.statusCode === 415) return new LatchkeyError('unsupported_media_type');
  if (fe?.statusCode === 404) return new LatchkeyError('not_found');
  return new LatchkeyError('internal_error', { cause: err });
}

/** Installs the error and not-found handlers. Internal errors are logged with the request id only. */
export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const le = toLatchkeyError(err);
    if (le.code === 'internal_error' || le.code === 'service_unavailable') {
      const e = err as { name?: string; code?: string; stack?: string };
      request.log.error({ err: { name: e?.name, code: e?.code, stack: e?.stack } }, 'internal error');
    }
    if (reply.sent || reply.raw.headersSent) {
      reply.raw.destroy();
      return;
    }
    void reply
      .code(le.status)
      .header('latchkey-error', '1')
      .headers(le.headers ?? {})
      .type('application/json; charset=utf-8')
      .serializer(JSON.stringify)
      .send(errorBody(le, request.id));
  });
  app.setNotFoundHandler((request, reply) => {
    void reply
      .code(404)
      .header('latchkey-error', '1')
      .type('application/json; charset=utf-8')
      .serializer(JSON.stringify)
      .send(errorBody(new LatchkeyError('not_found'), request.id));
  });
}

/**
 * Answers requests Node's HTTP parser refuses before Fastify sees them (oversized headers, a
 * malformed request line) with the typed error body instead of Fastify's own shape; passed to
 * Fastify as `clientErrorHandler`. Request timeouts keep Node's bodiless 408.
 */
export function clientErrorHandler(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  if (socket.writable) {
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      socket.write('HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    } else {
      const requestId = `req_${randomBytes(10).toString('hex')}`;
      const message =
        err.code === 'HPE_HEADER_OVERFLOW' ? 'The request headers are too large.' : 'The request is not valid HTTP.';
      const body = JSON.stringify(errorBody(new LatchkeyError('invalid_request', { message }), requestId));
      socket.write(
        `HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-type: application/json; charset=utf-8\r\nlatchkey-error: 1\r\n` +
          `x-request-id: ${requestId}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
    }
  }
  socket.destroy(err);
}

/** Every registered code's status, for the OpenAPI error responses. */
export const ERROR_STATUSES = [...new Set(Object.values(ERROR_CODES).map((e) => e.status))].sort();
export type { ErrorCode };
