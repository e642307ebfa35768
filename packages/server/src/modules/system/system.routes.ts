import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import type { Db } from '../../store/types.js';

/** `/healthz` (alive) and `/readyz` (database reachable, audit store writable). */
export function systemRoutes(deps: { db: Db; auditHealthy: () => boolean }) {
  return async function (app: FastifyInstance): Promise<void> {
    app.get('/healthz', { schema: { operationId: 'healthz', tags: ['system'] } }, async () => ({ status: 'ok' }));
    app.get('/readyz', { schema: { operationId: 'readyz', tags: ['system'] } }, async (_req, reply) => {
      let database = 'ok';
      try {
        await sql`select 1`.execute(deps.db);
      } catch {
        database = 'unavailable';
      }
      const audit = deps.auditHealthy() ? 'ok' : 'unavailable';
      const ready = database === 'ok' && audit === 'ok';
      return reply
        .code(ready ? 200 : 503)
        .send({ status: ready ? 'ready' : 'unavailable', checks: { database, audit } });
    });
  };
}
