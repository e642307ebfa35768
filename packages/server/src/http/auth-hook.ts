import type { FastifyReply, FastifyRequest, preValidationAsyncHookHandler } from 'fastify';
import { hasScope } from '@latchkey/api';
import { LatchkeyError } from '../errors.js';
import type { AuthContext, Authenticator } from './authenticate.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the authentication hook (`requireScope`). */
    auth?: AuthContext;
    /** Raw body bytes, kept by the JSON parser for signature digests. */
    rawBody?: Buffer;
  }
}

/**
 * The absolute URI a client signed: `LATCHKEY_PUBLIC_URL` (if set, including any path prefix) or
 * `http://<Host>`, followed by the raw request target.
 */
export function targetUriOf(request: FastifyRequest, publicUrl: string | undefined): string {
  // Behind a reverse proxy that strips a path prefix, the client signed the public URL with the prefix.
  const base = publicUrl ? publicUrl.replace(/\/+$/, '') : `${request.protocol}://${request.host}`;
  return new URL(`${base}${request.raw.url ?? '/'}`).href;
}

/**
 * Authenticates a Fastify request (used by the JSON API hook and by the proxy front doors).
 *
 * @param opts `allowPausedAgent` (only `GET /v1/agents/me`); `headers` to authenticate instead of the
 *   request's own (the gateway moves a vendor API-key header to `authorization`).
 * @returns the authenticator's promise itself (no extra async step on the proxy's hot path).
 * @throws TypeError at once when a signed request's target URI cannot be built; the authenticator's
 *   LatchkeyError arrives as a rejection.
 */
export function authenticateRequest(
  authenticate: Authenticator,
  request: FastifyRequest,
  publicUrl: string | undefined,
  body: Buffer | undefined,
  opts: { allowPausedAgent?: boolean; headers?: FastifyRequest['headers'] } = {},
): Promise<AuthContext> {
  const h = opts.headers ?? request.headers;
  const signed = h['signature-input'] !== undefined || h['signature'] !== undefined;
  return authenticate({
    method: request.method,
    // Only a signature covers the target URI; a bearer call skips building it.
    targetUri: signed ? targetUriOf(request, publicUrl) : '',
    headers: h,
    body,
    ip: request.ip,
    allowPausedAgent: opts.allowPausedAgent === true,
  });
}

/**
 * A `preValidation` hook that authenticates and requires `scope`. It runs after the body is parsed
 * (a signed request's Content-Digest needs the raw bytes) but before schema validation, so an
 * unauthenticated or under-scoped caller gets 401/403, never a validation report.
 *
 * @param scope the scope the route needs; `null`: any authenticated caller (the route checks more).
 * @param opts `allowPausedAgent`: accept a paused agent (only `GET /v1/agents/me`).
 * @throws LatchkeyError `unauthorized` | `key_revoked` | `agent_inactive` | … | `insufficient_scope`.
 */
export function requireScope(
  authenticate: Authenticator,
  publicUrl: string | undefined,
  scope: string | null,
  opts: { allowPausedAgent?: boolean } = {},
): preValidationAsyncHookHandler {
  return async function (request: FastifyRequest, reply: FastifyReply) {
    const auth = await authenticateRequest(authenticate, request, publicUrl, request.rawBody, opts);
    request.auth = auth;
    if (auth.deprecated) void reply.header('latchkey-key-deprecated', 'true');
    if (scope !== null && !hasScope(auth.scopes, scope)) {
      throw new LatchkeyError('insufficient_scope', { details: { required_scope: scope } });
    }
  };
}
