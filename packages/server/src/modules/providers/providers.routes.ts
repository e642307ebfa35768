import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import {
  CreateTemplateBody,
  CustomTemplate,
  CustomTemplateList,
  DeleteTemplateResponse,
  ListCatalogQuery,
  ListTemplatesQuery,
  ProviderCatalog,
  SecretIdParams,
  SecretTestResult,
  TemplateIdParams,
} from '@latchkey/api';
import type { Authenticator } from '../../http/authenticate.js';
import { requireScope } from '../../http/auth-hook.js';
import { actorOf, authOf, errorResponses, pageOf } from '../../http/route-kit.js';
import type { ProvidersService } from './providers.service.js';

/**
 * `/v1/providers/*`: the catalog, per-app custom templates; and `POST /v1/managed-secrets/{id}/test`,
 * which runs a secret's template test endpoint.
 */
export function providersRoutes(deps: {
  providers: ProvidersService;
  authenticate: Authenticator;
  publicUrl: string | undefined;
}) {
  const { providers } = deps;
  const scope = (s: string) => requireScope(deps.authenticate, deps.publicUrl, s);
  return async function (app: FastifyInstance): Promise<void> {
    const r = app.withTypeProvider<ZodTypeProvider>();
    r.get('/v1/providers/catalog', {
      schema: {
        operationId: 'listProviderCatalog',
        tags: ['providers'],
        querystring: ListCatalogQuery,
        response: { 200: ProviderCatalog, ...errorResponses },
      },
      preValidation: scope('providers:read'),
      handler: async (req) => providers.listCatalog(req.query),
    });
    r.post('/v1/providers/templates', {
      schema: {
        operationId: 'createProviderTemplate',
        tags: ['providers'],
        body: CreateTemplateBody,
        response: { 201: CustomTemplate, ...errorResponses },
      },
      preValidation: scope('providers:write'),
      handler: async (req, reply) =>
        reply.code(201).send(await providers.createTemplate(authOf(req).appId, req.body, actorOf(req))),
    });
    r.get('/v1/providers/templates', {
      schema: {
        operationId: 'listProviderTemplates',
        tags: ['providers'],
        querystring: ListTemplatesQuery,
        response: { 200: CustomTemplateList, ...errorResponses },
      },
      preValidation: scope('providers:read'),
      handler: async (req) => {
        const { items, total } = await providers.listTemplates(authOf(req).appId, req.query);
        return { templates: items, ...pageOf(total, req.query.limit, req.query.offset, items.length) };
      },
    });
    r.get('/v1/providers/templates/:id', {
      schema: {
        operationId: 'getProviderTemplate',
        tags: ['providers'],
        params: TemplateIdParams,
        response: { 200: CustomTemplate, ...errorResponses },
      },
      preValidation: scope('providers:read'),
      handler: async (req) => providers.getTemplate(authOf(req).appId, req.params.id),
    });
    r.delete('/v1/providers/templates/:id', {
      schema: {
        operationId: 'deleteProviderTemplate',
        tags: ['providers'],
        params: TemplateIdParams,
        response: { 200: DeleteTemplateResponse, ...errorResponses },
      },
      preValidation: scope('providers:write'),
      handler: async (req) => {
        await providers.deleteTemplate(authOf(req).appId, req.params.id, actorOf(req));
        return { id: req.params.id, deleted: true as const };
      },
    });
    r.post('/v1/managed-secrets/:id/test', {
      schema: {
        operationId: 'testManagedSecret',
        tags: ['managed-secrets'],
        params: SecretIdParams,
        response: { 200: SecretTestResult, ...errorResponses },
      },
      // Testing sends the credential upstream: the same bar as changing the secret.
      preValidation: scope('secrets:write'),
      handler: async (req) => providers.testSecret(authOf(req), req.params.id),
    });
  };
}
