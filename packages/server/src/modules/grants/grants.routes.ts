import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { Grant, GrantIdParams, GrantList, ListGrantsQuery, RevokeGrantBody } from '@latchkey/api';
import { LatchkeyError } from '../../errors.js';
import type { Authenticator } from '../../http/authenticate.js';
import { requireScope } from '../../http/auth-hook.js';
import { actorOf, authOf, errorResponses, pageOf } from '../../http/route-kit.js';
import type { GrantsService } from './grants.service.js';

/** `/v1/grants`: the unified list, get, revoke. */
export function grantsRoutes(deps: {
  grants: GrantsService;
  authenticate: Authenticator;
  publicUrl: string | undefined;
}) {
  const { grants } = deps;
  const scope = (s: string) => requireScope(deps.authenticate, deps.publicUrl, s);
  return async function (app: FastifyInstance): Promise<void> {
    const r = app.withTypeProvider<ZodTypeProvider>();
    r.get('/v1/grants', {
      schema: {
        operationId: 'listGrants',
        tags: ['grants'],
        querystring: ListGrantsQuery,
        response: { 200: GrantList, ...errorResponses },
      },
      preValidation: scope('grants:read'),
      handler: async (req) => {
        const auth = authOf(req);
        const { grants: items, total } = await grants.list(auth.appId, req.query, { agentId: auth.agentId });
        return { grants: items, ...pageOf(total, req.query.limit, req.query.offset, items.length) };
      },
    });
    r.get('/v1/grants/:grant_id', {
      schema: {
        operationId: 'getGrant',
        tags: ['grants'],
        params: GrantIdParams,
        response: { 200: Grant, ...errorResponses },
      },
      preValidation: scope('grants:read'),
      handler: async (req) => grants.get(authOf(req).appId, req.params.grant_id, { agentId: authOf(req).agentId }),
    });
    r.post('/v1/grants/:grant_id/revoke', {
      schema: {
        operationId: 'revokeGrant',
        tags: ['grants'],
        params: GrantIdParams,
        body: RevokeGrantBody.nullish(),
        response: { 200: Grant, ...errorResponses },
      },
      preValidation: scope('grants:write'),
      handler: async (req) => {
        // No body at all means "no reason"; a JSON body must be the object the schema describes.
        if (req.body === null && req.rawBody !== undefined && req.rawBody.length > 0) {
          throw new LatchkeyError('invalid_request', { details: { location: 'body' } });
        }
        return grants.revoke(authOf(req).appId, req.params.grant_id, req.body?.reason, actorOf(req), {
          agentId: authOf(req).agentId,
        });
      },
    });
  };
}
