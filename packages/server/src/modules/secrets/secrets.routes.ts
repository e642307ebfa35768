import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import {
  CreateGrantBody,
  CreateSecretBody,
  DeleteSecretResponse,
  Grant,
  PageQuery,
  RotateSecretBody,
  SecretIdParams,
  SecretList,
  SecretMeta,
  UpdateSecretBody,
} from '@latchkey/api';
import type { Authenticator } from '../../http/authenticate.js';
import { requireScope } from '../../http/auth-hook.js';
import { actorOf, authOf, errorResponses, pageOf } from '../../http/route-kit.js';
import type { GrantsService } from '../grants/grants.service.js';
import type { SecretsService } from './secrets.service.js';

/** `/v1/managed-secrets`: store, list, get, update metadata, rotate, delete, and issue grants. */
export function secretsRoutes(deps: {
  secrets: SecretsService;
  grants: Pick<GrantsService, 'issueForSecret'>;
  authenticate: Authenticator;
  publicUrl: string | undefined;
}) {
  const { secrets, grants } = deps;
  const scope = (s: string) => requireScope(deps.authenticate, deps.publicUrl, s);
  return async function (app: FastifyInstance): Promise<void> {
    const r = app.withTypeProvider<ZodTypeProvider>();
    r.post('/v1/managed-secrets', {
      schema: {
        operationId: 'createManagedSecret',
        tags: ['managed-secrets'],
        body: CreateSecretBody,
        response: { 201: SecretMeta, ...errorResponses },
      },
      preValidation: scope('secrets:write'),
      handler: async (req, reply) =>
        reply.code(201).send(await secrets.create(authOf(req).appId, req.body, actorOf(req))),
    });
    r.get('/v1/managed-secrets', {
      schema: {
        operationId: 'listManagedSecrets',
        tags: ['managed-secrets'],
        querystring: PageQuery,
        response: { 200: SecretList, ...errorResponses },
      },
      preValidation: scope('secrets:read'),
      handler: async (req) => {
        const { items, total } = await secrets.list(authOf(req).appId, req.query);
        return { managed_secrets: items, ...pageOf(total, req.query.limit, req.query.offset, items.length) };
      },
    });
    r.get('/v1/managed-secrets/:id', {
      schema: {
        operationId: 'getManagedSecret',
        tags: ['managed-secrets'],
        params: SecretIdParams,
        response: { 200: SecretMeta, ...errorResponses },
      },
      preValidation: scope('secrets:read'),
      handler: async (req) => secrets.get(authOf(req).appId, req.params.id),
    });
    r.patch('/v1/managed-secrets/:id', {
      schema: {
        operationId: 'updateManagedSecret',
        tags: ['managed-secrets'],
        params: SecretIdParams,
        body: UpdateSecretBody,
        response: { 200: SecretMeta, ...errorResponses },
      },
      preValidation: scope('secrets:write'),
      handler: async (req) => secrets.update(authOf(req).appId, req.params.id, req.body, actorOf(req)),
    });
    r.post('/v1/managed-secrets/:id/rotate', {
      schema: {
        operationId: 'rotateManagedSecret',
        tags: ['managed-secrets'],
        params: SecretIdParams,
        body: RotateSecretBody,
        response: { 200: SecretMeta, ...errorResponses },
      },
      preValidation: scope('secrets:write'),
      handler: async (req) => secrets.rotate(authOf(req).appId, req.params.id, req.body, actorOf(req)),
    });
    r.delete('/v1/managed-secrets/:id', {
      schema: {
        operationId: 'deleteManagedSecret',
        tags: ['managed-secrets'],
        params: SecretIdParams,
        response: { 200: DeleteSecretResponse, ...errorResponses },
      },
      preValidation: scope('secrets:write'),
      handler: async (req) => {
        const { revokedGrants } = await secrets.delete(authOf(req).appId, req.params.id, actorOf(req));
        return { id: req.params.id, deleted: true as const, revoked_grants: revokedGrants };
      },
    });
    r.post('/v1/managed-secrets/:id/grants', {
      schema: {
        operationId: 'createManagedSecretGrant',
        tags: ['grants'],
        params: SecretIdParams,
        body: CreateGrantBody,
        response: { 201: Grant, ...errorResponses },
      },
      preValidation: scope('grants:write'),
      handler: async (req, reply) =>
        reply.code(201).send(
          await grants.issueForSecret(authOf(req).appId, req.params.id, req.body, actorOf(req), {
            agentId: authOf(req).agentId,
          }),
        ),
    });
  };
}
