import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { FORWARD_HEADERS, ProxyRequestBody, ProxyResult, TemplateId } from '@latchkey/api';
import { LatchkeyError } from '../../errors.js';
import type { AuthContext, Authenticator } from '../../http/authenticate.js';
import { authenticateRequest, requireScope } from '../../http/auth-hook.js';
import { toLatchkeyError } from '../../http/error-handler.js';
import { authOf, errorResponses } from '../../http/route-kit.js';
import type { ProxyService } from './proxy.service.js';
import { hasRequestBody, one, parseContext, readBody, serveStreaming, streamingInput, traceOf } from './front-door.js';
import { sanitizeHeaders } from './steps/inject.js';
import { redactBody, responseHeaders } from './steps/respond.js';
import type { GrantSelector } from './steps/resolve-grant.js';
import { parseTarget, templateUrl } from './steps/template-url.js';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
const GRANT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// RFC 9110 field names (tokens) and the field-value bytes undici sends (no CR, LF or NUL).
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * How a `/v1/forward` call names its grant: `latchkey-grant-id`, or `latchkey-provider` +
 * `latchkey-user-token` (+ optional `latchkey-account`), never both.
 *
 * @throws LatchkeyError `invalid_request` naming the header.
 */
function forwardSelector(h: FastifyRequest['headers']): { grantId: string; byProvider?: GrantSelector } {
  const bad = (message: string, header: string) =>
    new LatchkeyError('invalid_request', { message, details: { header } });
  const grantId = one(h[FORWARD_HEADERS.grantId]);
  const provider = one(h[FORWARD_HEADERS.provider]);
  const userToken = one(h[FORWARD_HEADERS.userToken]);
  const account = one(h[FORWARD_HEADERS.account]);
  if (provider === undefined) {
    if (userToken !== undefined || account !== undefined)
      throw bad('latchkey-user-token and latchkey-account go with latchkey-provider.', FORWARD_HEADERS.provider);
    if (!GRANT_ID.test(grantId ?? ''))
      throw bad('The latchkey-grant-id header must be a grant id.', FORWARD_HEADERS.grantId);
    return { grantId: grantId! };
  }
  if (grantId !== undefined)
    throw bad('Give latchkey-grant-id or latchkey-provider, not both.', FORWARD_HEADERS.grantId);
  if (!TemplateId.safeParse(provider).success)
    throw bad('The latchkey-provider header must be a provider id.', FORWARD_HEADERS.provider);
  if (!userToken || userToken.length > 8192)
    throw bad('latchkey-provider needs the user token in latchkey-user-token.', FORWARD_HEADERS.userToken);
  if (account !== undefined && (account.length === 0 || account.length > 200))
    throw bad('latchkey-account must be 1 to 200 characters.', FORWARD_HEADERS.account);
  return { grantId: '', byProvider: { provider, userToken, account: account ?? null } };
}

/**
 * The two front doors to the pipeline: `ANY /v1/forward` (streaming) and `POST /v1/proxy` (JSON envelope).
 */
export function proxyRoutes(deps: {
  proxy: ProxyService;
  authenticate: Authenticator;
  publicUrl: string | undefined;
  maxBodyBytes: number;
  maxResponseBytes: number;
}) {
  const { proxy } = deps;

  async function forwardHandler(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const h = request.headers;
    const hasBody = hasRequestBody(request);
    const signed = h['signature-input'] !== undefined;
    // A signed body is verified against its Content-Digest before anything is sent upstream.
    const bodyBytes = signed && hasBody ? await readBody(request, deps.maxBodyBytes) : undefined;
    const auth: AuthContext = await authenticateRequest(deps.authenticate, request, deps.publicUrl, bodyBytes);
    if (auth.deprecated) void reply.header('latchkey-key-deprecated', 'true');
    const input = streamingInput(auth, 'forward', request);
    const check = () => {
      const selector = forwardSelector(h);
      input.grantId = selector.grantId;
      input.byProvider = selector.byProvider;
      input.context = parseContext(one(h[FORWARD_HEADERS.context]));
      input.url = parseTarget(one(h[FORWARD_HEADERS.target]));
      input.headers = sanitizeHeaders(h, signed);
    };
    await serveStreaming(proxy, input, check, bodyBytes ?? (hasBody ? request.raw : null), reply);
  }

  return async function (app: FastifyInstance): Promise<void> {
    await app.register(async (scoped) => {
      // The forward door streams bodies: no parser consumes them.
      scoped.removeAllContentTypeParsers();
      scoped.addContentTypeParser('*', (_req, _payload, done) => done(null));
      scoped.route({
        method: [...METHODS],
        url: '/v1/forward',
        schema: { operationId: 'forward', tags: ['proxy'], hide: false },
        handler: forwardHandler,
      });
    });

    const r = app.withTypeProvider<ZodTypeProvider>();
    r.post('/v1/proxy', {
      schema: {
        operationId: 'proxyRequest',
        tags: ['proxy'],
        body: ProxyRequestBody,
        response: { 200: ProxyResult, ...errorResponses },
      },
      preValidation: requireScope(deps.authenticate, deps.publicUrl, 'proxy:execute'),
      handler: async (request, reply) => {
        const b = request.body;
        const auth = authOf(request);
        const base = {
          auth,
          frontDoor: 'proxy' as const,
          method: b.method,
          grantId: b.grant_id ?? '',
          byProvider:
            b.provider !== undefined
              ? { provider: b.provider, userToken: b.user_token ?? '', account: b.account ?? null }
              : undefined,
          reason: b.reason ?? null,
          context: b.context ?? null,
          trace: traceOf(request.headers),
        };
        let url: URL;
        let body: Buffer | null = null;
        const headers: Record<string, string> = {};
        try {
          url = templateUrl(b.url, b.path_params, b.query_params);
          if (b.json !== undefined && b.body_b64 !== undefined)
            throw new LatchkeyError('invalid_request', {
              message: 'Give json or body_b64, not both.',
              details: { field: 'json' },
            });
          for (const [k, v] of Object.entries(b.headers ?? {})) {
            // Refused here: undici would throw later and the caller would see a 502 for its own input.
            if (!HEADER_NAME.test(k) || !HEADER_VALUE.test(v)) {
              throw new LatchkeyError('invalid_request', {
                message: 'headers must hold valid HTTP header names and values.',
                details: { field: 'headers' },
              });
            }
            headers[k.toLowerCase()] = v;
          }
          delete headers['content-length'];
          if (b.json !== undefined) {
            let text: string;
            try {
              text = JSON.stringify(b.json);
            } catch {
              // A RangeError from a body nested deeper than the serializer's stack.
              throw new LatchkeyError('invalid_request', {
                message: 'json is nested too deeply.',
                details: { field: 'json' },
              });
            }
            body = Buffer.from(text, 'utf8');
            headers['content-type'] ??= 'application/json';
          } else if (b.body_b64 !== undefined) {
            if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b.body_b64))
              throw new LatchkeyError('invalid_request', {
                message: 'body_b64 is not base64.',
                details: { field: 'body_b64' },
              });
            body = Buffer.from(b.body_b64, 'base64');
          }
        } catch (err) {
          await proxy.auditDenied({ ...base, url: null }, toLatchkeyError(err));
          throw err;
        }
        const clean = sanitizeHeaders(headers, false);
        // The envelope buffers and redacts the body, so ask for it uncompressed.
        clean['accept-encoding'] = 'identity';
        const call = await proxy.prepare({ ...base, url, headers: clean, body });
        const result = await new Promise<{
          status: number;
          headers: Record<string, string | string[] | undefined>;
          body: Buffer;
          truncated: boolean;
        }>((resolve, reject) => {
          let status = 0;
          let upstreamHeaders: Record<string, string | string[] | undefined> = {};
          const chunks: Buffer[] = [];
          let size = 0;
          let truncated = false;
          const control = proxy.forward(call, body, {
            start(s, hs) {
              status = s;
              upstreamHeaders = hs;
            },
            data(chunk) {
              if (truncated) return true;
              if (size + chunk.length > deps.maxResponseBytes) {
                chunks.push(chunk.subarray(0, deps.maxResponseBytes - size));
                size = deps.maxResponseBytes;
                truncated = true;
                resolve({ status, headers: upstreamHeaders, body: Buffer.concat(chunks), truncated });
                control.abort();
                return true;
              }
              size += chunk.length;
              chunks.push(chunk);
              return true;
            },
            end() {
              resolve({ status, headers: upstreamHeaders, body: Buffer.concat(chunks), truncated });
            },
            error(err, afterStart) {
              if (truncated) return;
              if (afterStart)
                resolve({ status, headers: upstreamHeaders, body: Buffer.concat(chunks), truncated: true });
              else reject(err);
            },
          });
        }).catch(async (err: unknown) => {
          const le = toLatchkeyError(err);
          await proxy.auditCompleted(call, null, le.code);
          throw le;
        });
        await proxy.auditCompleted(call, result.status, null);
        const redact = call.redact ?? [];
        const flat: Record<string, string> = {};
        for (const [k, v] of Object.entries(responseHeaders(result.headers, redact)))
          flat[k] = Array.isArray(v) ? v.join(', ') : v;
        if (auth.deprecated) void reply.header('latchkey-key-deprecated', 'true');
        return {
          status_code: result.status,
          headers: flat,
          body_b64: redactBody(result.body, redact).toString('base64'),
          body_truncated: result.truncated,
        };
      },
    });
  };
}
