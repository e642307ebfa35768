import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { hasScope } from '@latchkey/api';
import { LatchkeyError } from '../errors.js';
import type { AuthContext, Authenticator } from './authenticate.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the authentication pre-handler. */
    auth?: AuthContext;
    /** Raw body bytes, kept by the JSON parser for signature digests. */
    rawBody?: Buffer;
  }
}

/**
 * The absolute URI a client signed: `LATCHKEY_PUBLIC_URL`'s origin (if set) or `http://<Host>`,
 * plus the raw request target.
 */
export function targetUriOf(request: FastifyRequest, publicUrl: string | undefined): string {
  const origin = publicUrl ? new URL(publicUrl).origin : `${request.protocol}://${request.host}`;
  return new URL(request.raw.url ?? '/', origin).href;
}

/** Authenticates a Fastify request (used by the JSON API pre-handler and by the proxy front doors). */
export async function authenticateRequest(
  authenticate: Authenticator,
  request: FastifyRequest,
  publicUrl: string | undefined,
  body: Buffer | undefined,
): Promise<AuthContext> {
  return authenticate({
    method: request.method,
    targetUri: targetUriOf(request, publicUrl),
    headers: request.headers,
    body,
    ip: request.ip,
  });
}

/**
 * A pre-handler that authenticates and requires `scope`.
 *
 * @throws LatchkeyError `unauthorized` | `key_revoked` | … | `insufficient_scope`.
 */
export function requireScope(authenticate: Authenticator, publicUrl: string | undefined, scope: string): preHandlerAsyncHookHandler {
  return async function (request: FastifyRequest, reply: FastifyReply) {
    const auth = await authenticateRequest(authenticate, request, publicUrl, request.rawBody);
    request.auth = auth;
    if (auth.deprecated) void reply.header('latchkey-key-deprecated', 'true');
    if (!hasScope(auth.scopes, scope)) {
      throw new LatchkeyError('insufficient_scope', { details: { required_scope: scope } });
    }
  };
}
