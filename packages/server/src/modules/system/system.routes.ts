import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import type { Db } from '../../store/types.js';

/** `/healthz` (alive) and `/readyz` (database reachable, audit store writable; Redis degradation reported). */
export function systemRoutes(deps: {
  db: Db;
  auditHealthy: () => boolean;
  redisStatus: () => 'disabled' | 'ok' | 'degraded';
  replicaId: string;
}) {
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
      // Redis down degrades (signed requests refused, per-replica rate limits, short cache TTL) but
      // the replica still serves: it stays ready and says so.
      const redis = deps.redisStatus();
      const ready = database === 'ok' && audit === 'ok';
      const status = !ready ? 'unavailable' : redis === 'degraded' ? 'degraded' : 'ready';
      return reply
        .code(ready ? 200 : 503)
        .send({ status, replica_id: deps.replicaId, checks: { database, audit, redis } });
    });
  };
}
