import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { FORWARD_HEADERS } from '@latchkey/api';
import { LatchkeyError } from '../../errors.js';
import type { Authenticator } from '../../http/authenticate.js';
import { authenticateRequest } from '../../http/auth-hook.js';
import { hasRequestBody, one, parseContext, readBody, serveStreaming, streamingInput } from './front-door.js';
import { extractGatewayKey, GATEWAY_KEY_HEADERS } from './gateway-key.js';
import type { ProxyService } from './proxy.service.js';
import { checkGatewayPath } from './steps/gateway-url.js';
import { sanitizeHeaders } from './steps/inject.js';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
const GRANT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** `/gw/{grant_id}{/path}{?query}` as sent (still percent-encoded). */
const GATEWAY_TARGET = /^\/gw\/([^/?#]*)([^?#]*)(\?[^#]*)?/;

/**
 * The gateway front door (DESIGN §4, "drop-in base URL"): `ANY /gw/{grant_id}/{path…}` forwards to
 * the grant's base URL (the managed secret's `base_url`, else its template's) joined with `{path…}`,
 * plus the caller's query string, through the same pipeline as `/v1/forward`, streaming both bodies
 * (server-sent events included).
 *
 * The caller's Latchkey key is taken from wherever a vendor SDK put its API key (see
 * `GATEWAY_KEY_HEADERS`) and authenticated exactly like `Authorization: Bearer` (so `signed_only`
 * keys are refused unless the request is signed, RFC 9421); those headers are then removed, so the
 * provider sees only the injected credential. Needs scope `proxy:execute`. Every Latchkey refusal
 * carries `latchkey-error: 1` and the error body of DESIGN §11; upstream answers pass through as-is.
 *
 * @param deps the proxy service (public functions only), the authenticator, `publicUrl` (for signed
 *   requests) and `maxBodyBytes` (a signed body is buffered to check its Content-Digest).
 * @returns a Fastify plugin registering `/gw/:grant_id` and `/gw/:grant_id/*`.
 * @example
 *   // An unmodified OpenAI SDK, pointed at Latchkey:
 *   new OpenAI({ apiKey: process.env.LATCHKEY_API_KEY, baseURL: `http://127.0.0.1:7070/gw/${grantId}` });
 */
export function gatewayRoutes(deps: {
  proxy: Pick<ProxyService, 'prepare' | 'forward' | 'auditCompleted' | 'auditDenied'>;
  authenticate: Authenticator;
  publicUrl: string | undefined;
  maxBodyBytes: number;
}) {
  const { proxy } = deps;

  async function gatewayHandler(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const h = request.headers;
    const target = GATEWAY_TARGET.exec(request.raw.url ?? '');
    if (!target) throw new LatchkeyError('not_found');
    const [, grantSegment = '', path = '', search = ''] = target;
    const hasBody = hasRequestBody(request);
    const signed = h['signature-input'] !== undefined;
    // A signed body is verified against its Content-Digest before anything is sent upstream.
    const bodyBytes = signed && hasBody ? await readBody(request, deps.maxBodyBytes) : undefined;

    // Step 1: the key found in a vendor header is authenticated as a bearer key; a signed request
    // is authenticated by its signature alone.
    const authHeaders: Record<string, string | string[] | undefined> = { ...h };
    for (const name of GATEWAY_KEY_HEADERS) delete authHeaders[name];
    const key = signed ? undefined : extractGatewayKey(h);
    if (key) authHeaders['authorization'] = `Bearer ${key}`;
    const auth = await authenticateRequest(deps.authenticate, request, deps.publicUrl, bodyBytes, {
      headers: authHeaders,
    });
    if (auth.deprecated) void reply.header('latchkey-key-deprecated', 'true');

    const input = streamingInput(auth, 'gateway', request);
    const isGrantId = GRANT_ID.test(grantSegment);
    input.grantId = isGrantId ? grantSegment : '';
    const check = () => {
      // A path segment that cannot name a grant names no grant this caller can reach.
      if (!isGrantId) throw new LatchkeyError('grant_not_found');
      input.context = parseContext(one(h[FORWARD_HEADERS.context]));
      checkGatewayPath(path);
      input.gateway = { path, search };
      input.headers = sanitizeHeaders(h, signed);
      for (const name of GATEWAY_KEY_HEADERS) delete input.headers[name];
    };
    await serveStreaming(proxy, input, check, bodyBytes ?? (hasBody ? request.raw : null), reply);
  }

  return async function (app: FastifyInstance): Promise<void> {
    await app.register(async (scoped) => {
      // The gateway streams bodies: no parser consumes them.
      scoped.removeAllContentTypeParsers();
      scoped.addContentTypeParser('*', (_req, _payload, done) => done(null));
      scoped.route({
        method: [...METHODS],
        url: '/gw/:grant_id',
        schema: { operationId: 'gatewayRoot', tags: ['proxy'], hide: true },
        handler: gatewayHandler,
      });
      scoped.route({
        method: [...METHODS],
        url: '/gw/:grant_id/*',
        schema: { operationId: 'gateway', tags: ['proxy'], hide: false },
        handler: gatewayHandler,
      });
    });
  };
}
