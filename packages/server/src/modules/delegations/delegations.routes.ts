import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import {
  CreateDelegationBody,
  Delegation,
  DelegationList,
  DelegationParams,
  GrantIdParams,
  ListDelegationsQuery,
} from '@latchkey/api';
import { LatchkeyError } from '../../errors.js';
import type { Authenticator } from '../../http/authenticate.js';
import { requireScope } from '../../http/auth-hook.js';
import { actorOf, authOf, errorResponses } from '../../http/route-kit.js';
import type { DelegationsService } from './delegations.service.js';

/**
 * Delegations of user grants to agents (DESIGN §8):
 * - `POST /v1/grants/{grant_id}/delegations` (`grants:write`, app keys): the grant's user consents by
 *   presenting their ID token; 201 when created, 200 when the delegation already existed.
 * - `GET /v1/grants/{grant_id}/delegations` (`grants:read`): an agent sees only its own.
 * - `DELETE /v1/grants/{grant_id}/delegations/{agent_id}` (`grants:write`): revokes one.
 * - `DELETE /v1/grants/{grant_id}/delegation` (agent keys, no scope needed: it only gives power
 *   up): the calling agent revokes its own delegation.
 * Revoking a delegation leaves the grant intact.
 */
export function delegationsRoutes(deps: {
  delegations: DelegationsService;
  authenticate: Authenticator;
  publicUrl: string | undefined;
}) {
  const { delegations } = deps;
  const scope = (s: string | null) => requireScope(deps.authenticate, deps.publicUrl, s);
  return async function (app: FastifyInstance): Promise<void> {
    const r = app.withTypeProvider<ZodTypeProvider>();
    r.post('/v1/grants/:grant_id/delegations', {
      schema: {
        operationId: 'createDelegation',
        tags: ['delegations'],
        params: GrantIdParams,
        body: CreateDelegationBody,
        response: { 200: Delegation, 201: Delegation, ...errorResponses },
      },
      preValidation: scope('grants:write'),
      handler: async (req, reply) => {
        const auth = authOf(req);
        // Consent is given to the app; an agent cannot delegate a user's grant to itself.
        if (auth.kind === 'agent')
          throw new LatchkeyError('insufficient_scope', {
            details: { required_scope: 'grants:write', key_kind: 'app' },
          });
        const { delegation, created } = await delegations.create(
          auth.appId,
          req.params.grant_id,
          { agentId: req.body.agent_id, userToken: req.body.user_token },
          actorOf(req),
        );
        return reply.code(created ? 201 : 200).send(delegation);
      },
    });
    r.get('/v1/grants/:grant_id/delegations', {
      schema: {
        operationId: 'listDelegations',
        tags: ['delegations'],
        params: GrantIdParams,
        querystring: ListDelegationsQuery,
        response: { 200: DelegationList, ...errorResponses },
      },
      preValidation: scope('grants:read'),
      handler: async (req) => {
        const auth = authOf(req);
        const items = await delegations.list(auth.appId, req.params.grant_id, {
          includeRevoked: req.query.include_revoked === 'true',
          agentId: auth.kind === 'agent' ? (auth.agentId ?? '') : undefined,
        });
        // A grant an agent holds no delegation of is out of its reach.
        if (auth.kind === 'agent' && items.length === 0) throw new LatchkeyError('grant_not_found');
        return { delegations: items };
      },
    });
    r.delete('/v1/grants/:grant_id/delegations/:agent_id', {
      schema: {
        operationId: 'revokeDelegation',
        tags: ['delegations'],
        params: DelegationParams,
        response: { 200: Delegation, ...errorResponses },
      },
      preValidation: scope('grants:write'),
      handler: async (req) => {
        const auth = authOf(req);
        if (auth.kind === 'agent' && auth.agentId !== req.params.agent_id)
          throw new LatchkeyError('delegation_not_found');
        return delegations.revoke(auth.appId, req.params.grant_id, req.params.agent_id, actorOf(req));
      },
    });
    r.delete('/v1/grants/:grant_id/delegation', {
      schema: {
        operationId: 'revokeOwnDelegation',
        tags: ['delegations'],
        params: GrantIdParams,
        response: { 200: Delegation, ...errorResponses },
      },
      preValidation: scope(null),
      handler: async (req) => {
        const auth = authOf(req);
        if (auth.kind !== 'agent' || !auth.agentId)
          throw new LatchkeyError('invalid_request', {
            message:
              'Only an agent revokes its own delegation here; an app key uses DELETE /v1/grants/{grant_id}/delegations/{agent_id}.',
          });
        // Another grant, or one not delegated to this agent, is not reachable by it.
        try {
          return await delegations.revoke(auth.appId, req.params.grant_id, auth.agentId, actorOf(req));
        } catch (err) {
          if (err instanceof LatchkeyError && err.code === 'delegation_not_found')
            throw new LatchkeyError('grant_not_found');
          throw err;
        }
      },
    });
  };
}
