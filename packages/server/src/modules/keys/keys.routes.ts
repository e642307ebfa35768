import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { KeyIdParams, KeyList, KeyMeta, MintKeyBody, MintKeyResponse, PageQuery } from '@latchkey/api';
import type { Authenticator } from '../../http/authenticate.js';
import { requireScope } from '../../http/auth-hook.js';
import { actorOf, authOf, errorResponses, pageOf } from '../../http/route-kit.js';
import type { KeysService } from './keys.service.js';

/** `/v1/keys`: mint (shown once), list, revoke. */
export function keysRoutes(deps: { keys: KeysService; authenticate: Authenticator; publicUrl: string | undefined }) {
  const { keys } = deps;
  const scope = (s: string) => requireScope(deps.authenticate, deps.publicUrl, s);
  return async function (app: FastifyInstance): Promise<void> {
    const r = app.withTypeProvider<ZodTypeProvider>();
    r.post('/v1/keys', {
      schema: {
        operationId: 'mintKey',
        tags: ['keys'],
        body: MintKeyBody,
        response: { 201: MintKeyResponse, ...errorResponses },
      },
      preValidation: scope('keys:admin'),
      handler: async (req, reply) => {
        const { key, apiKey } = await keys.mint(authOf(req).appId, req.body, actorOf(req));
        return reply.code(201).header('cache-control', 'no-store').send({ key, api_key: apiKey });
      },
    });
    r.get('/v1/keys', {
      schema: {
        operationId: 'listKeys',
        tags: ['keys'],
        querystring: PageQuery,
        response: { 200: KeyList, ...errorResponses },
      },
      preValidation: scope('keys:read'),
      handler: async (req) => {
        const { keys: items, total } = await keys.list(authOf(req).appId, req.query);
        return { keys: items, ...pageOf(total, req.query.limit, req.query.offset, items.length) };
      },
    });
    r.post('/v1/keys/:key_id/revoke', {
      schema: {
        operationId: 'revokeKey',
        tags: ['keys'],
        params: KeyIdParams,
        response: { 200: KeyMeta, ...errorResponses },
      },
      preValidation: scope('keys:admin'),
      handler: async (req) => keys.revoke(authOf(req).appId, req.params.key_id, actorOf(req)),
    });
  };
}
