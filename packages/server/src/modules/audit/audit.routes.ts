import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { AuditList, AuditVerifyResult, ListAuditQuery } from '@latchkey/api';
import type { Authenticator } from '../../http/authenticate.js';
import { requireScope } from '../../http/auth-hook.js';
import { authOf, errorResponses } from '../../http/route-kit.js';
import type { AuditService } from './audit.service.js';

/** `/v1/audit`: list (cursor, filters) and chain verification. */
export function auditRoutes(deps: { audit: AuditService; authenticate: Authenticator; publicUrl: string | undefined }) {
  const { audit } = deps;
  const scope = (s: string) => requireScope(deps.authenticate, deps.publicUrl, s);
  return async function (app: FastifyInstance): Promise<void> {
    const r = app.withTypeProvider<ZodTypeProvider>();
    r.get('/v1/audit', {
      schema: {
        operationId: 'listAuditEvents',
        tags: ['audit'],
        querystring: ListAuditQuery,
        response: { 200: AuditList, ...errorResponses },
      },
      preValidation: scope('audit:read'),
      handler: async (req) => {
        const { events, nextCursor } = await audit.list(authOf(req).appId, req.query);
        return { events, next_cursor: nextCursor, has_more: nextCursor !== null };
      },
    });
    r.get('/v1/audit/verify', {
      schema: {
        operationId: 'verifyAuditChains',
        tags: ['audit'],
        response: { 200: AuditVerifyResult, ...errorResponses },
      },
      preValidation: scope('audit:read'),
      handler: async () => audit.verify(),
    });
  };
}
