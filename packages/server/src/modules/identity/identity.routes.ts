import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import {
  IdentityProvider,
  IdentityProviderInput,
  ResolveIdentityResult,
  UserTokenBody,
  VerifyUserTokenResult,
} from '@latchkey/api';
import type { Authenticator } from '../../http/authenticate.js';
import { requireScope } from '../../http/auth-hook.js';
import { actorOf, authOf, errorResponses } from '../../http/route-kit.js';
import type { IdentityService } from './identity.service.js';

/**
 * `/v1/identity`: the app's identity provider (`PUT`/`GET /v1/identity/provider`, scopes
 * `identity:write`/`identity:read`) and user-token checks (`POST /v1/identity/verify` and
 * `/v1/identity/resolve`, scope `identity:read`). Verifying a token creates its user on first sight.
 */
export function identityRoutes(deps: {
  identity: IdentityService;
  authenticate: Authenticator;
  publicUrl: string | undefined;
}) {
  const { identity } = deps;
  const scope = (s: string) => requireScope(deps.authenticate, deps.publicUrl, s);
  return async function (app: FastifyInstance): Promise<void> {
    const r = app.withTypeProvider<ZodTypeProvider>();
    r.put('/v1/identity/provider', {
      schema: {
        operationId: 'configureIdentityProvider',
        tags: ['identity'],
        body: IdentityProviderInput,
        response: { 200: IdentityProvider, ...errorResponses },
      },
      preValidation: scope('identity:write'),
      handler: async (req) => identity.configureProvider(authOf(req).appId, req.body, actorOf(req)),
    });
    r.get('/v1/identity/provider', {
      schema: {
        operationId: 'getIdentityProvider',
        tags: ['identity'],
        response: { 200: IdentityProvider, ...errorResponses },
      },
      preValidation: scope('identity:read'),
      handler: async (req) => identity.getProvider(authOf(req).appId),
    });
    r.post('/v1/identity/verify', {
      schema: {
        operationId: 'verifyUserToken',
        tags: ['identity'],
        body: UserTokenBody,
        response: { 200: VerifyUserTokenResult, ...errorResponses },
      },
      preValidation: scope('identity:read'),
      handler: async (req) => {
        const u = await identity.verifyUserToken(authOf(req).appId, req.body.user_token);
        return {
          valid: true as const,
          app_user_id: u.appUserId,
          subject: u.subject,
          email: u.email,
          groups: [...u.groups],
        };
      },
    });
    r.post('/v1/identity/resolve', {
      schema: {
        operationId: 'resolveIdentity',
        tags: ['identity'],
        body: UserTokenBody,
        response: { 200: ResolveIdentityResult, ...errorResponses },
      },
      preValidation: scope('identity:read'),
      handler: async (req) => {
        const u = await identity.verifyUserToken(authOf(req).appId, req.body.user_token);
        return { app_user_id: u.appUserId, group_ids: [...u.groups], user_status: 'active' as const };
      },
    });
  };
}
