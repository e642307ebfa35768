import type { z } from 'zod';
import type { AuditEvent, AuditVerifyResult, ListAuditQuery } from '@latchkey/api';
import { LatchkeyError } from '../../errors.js';
import type { Db } from '../../store/types.js';
import { canonicalJson, chainHash, GENESIS_HASH } from './audit.fns.js';
import type { AuditInput, AuditRecord } from './audit.types.js';
import type { AuditWriter } from './audit.writer.js';

type Event = z.infer<typeof AuditEvent>;

/** The audit trail: record events, list them, verify the hash chains. */
export interface AuditService {
  /**
   * Records an event. In `sync` mode resolves after commit; in `async` mode after enqueueing.
   * @throws LatchkeyError `audit_unavailable` if the commit fails (sync mode).
   */
  record(input: AuditInput): Promise<void>;
  /**
   * Records an event without failing the caller: for revocations, which must take effect even while
   * the audit store is down (a lost row is logged as an error with its ids).
   */
  recordBestEffort(input: AuditInput): Promise<void>;
  /** @throws LatchkeyError `audit_unavailable` while the audit store is known to be unwritable. */
  assertWritable(): void;
  list(appId: string, q: z.infer<typeof ListAuditQuery>): Promise<{ events: Event[]; nextCursor: string | null }>;
  verify(appId?: string): Promise<z.infer<typeof AuditVerifyResult>>;
}

/**
 * Creates the audit service over a group-commit writer.
 *
 * @param deps `db`, `writer`, `mode` (`sync` | `async`), `onAsyncError` for async-mode failures.
 */
export function createAuditService(deps: {
  db: Db;
  writer: AuditWriter;
  mode: 'sync' | 'async';
  onAsyncError?: (err: unknown, input?: AuditInput) => void;
}): AuditService {
  const { db, writer, mode } = deps;
  return {
    async record(input) {
      const p = writer.append(input);
      if (mode === 'async') {
        p.catch((err) => deps.onAsyncError?.(err));
        return;
      }
      try {
        await p;
      } catch (err) {
        throw new LatchkeyError('audit_unavailable', { cause: err });
      }
    },
    async recordBestEffort(input) {
      try {
        await writer.append(input);
      } catch (err) {
        deps.onAsyncError?.(err, input);
      }
    },
    assertWritable() {
      if (!writer.healthy) throw new LatchkeyError('audit_unavailable');
    },
    async list(appId, q) {
      let query = db.selectFrom('audit_events').select(['seq', 'record', 'hash']).where('app_id', '=', appId);
      if (q.event) query = query.where('event', '=', q.event);
      if (q.grant_id) query = query.where('grant_id', '=', q.grant_id);
      if (q.managed_secret_id) query = query.where('managed_secret_id', '=', q.managed_secret_id);
      if (q.outcome) query = query.where('outcome', '=', q.outcome);
      if (q.key_prefix) query = query.where('key_prefix', '=', q.key_prefix);
      if (q.agent_id) query = query.where('agent_id', '=', q.agent_id);
      if (q.app_user_id) query = query.where('app_user_id', '=', q.app_user_id);
      if (q.since) query = query.where('ts', '>=', new Date(q.since).toISOString());
      if (q.until) query = query.where('ts', '<', new Date(q.until).toISOString());
      if (q.cursor) query = query.where('seq', '<', Number(q.cursor));
      const rows = await query
        .orderBy('seq', 'desc')
        .limit(q.limit + 1)
        .execute();
      const page = rows.slice(0, q.limit);
      const events = page.map((r) => toEvent(Number(r.seq), JSON.parse(r.record) as AuditRecord, r.hash));
      const last = page[page.length - 1];
      return { events, nextCursor: rows.length > q.limit && last ? String(last.seq) : null };
    },
    async verify() {
      // Chains are per replica; every chain is walked from its first row.
      const replicas = await db
        .selectFrom('audit_events')
        .select('replica_id')
        .distinct()
        .orderBy('replica_id')
        .execute();
      const chains: z.infer<typeof AuditVerifyResult>['chains'] = [];
      let firstBroken: z.infer<typeof AuditVerifyResult>['first_broken'] = null;
      for (const { replica_id } of replicas) {
        let expectSeq = 1;
        let prev = GENESIS_HASH;
        let count = 0;
        let broken: string | null = null;
        let brokenSeq = 0;
        for (;;) {
          const rows = await db
            .selectFrom('audit_events')
            .select([
              'chain_seq',
              'record',
              'prev_hash',
              'hash',
              'event',
              'app_id',
              'grant_id',
              'agent_id',
              'app_user_id',
            ])
            .where('replica_id', '=', replica_id)
            .where('chain_seq', '>=', expectSeq)
            .orderBy('chain_seq')
            .limit(2000)
            .execute();
          if (rows.length === 0) break;
          for (const r of rows) {
            const seq = Number(r.chain_seq);
            if (seq !== expectSeq) broken = `missing row ${expectSeq}`;
            else if (r.prev_hash !== prev) broken = 'prev_hash does not match the previous row';
            else {
              let rec: AuditRecord | undefined;
              try {
                rec = JSON.parse(r.record) as AuditRecord;
              } catch {
                broken = 'record is not JSON';
              }
              if (rec && !broken) {
                if (canonicalJson(rec) !== r.record || chainHash(prev, r.record) !== r.hash) broken = 'hash mismatch';
                else if (
                  rec.chain_seq !== seq ||
                  rec.event !== r.event ||
                  rec.app_id !== r.app_id ||
                  rec.grant_id !== r.grant_id ||
                  (rec.actor?.agent_id ?? null) !== r.agent_id ||
                  (rec.app_user_id ?? null) !== r.app_user_id
                )
                  broken = 'indexed columns differ from the hashed record';
              }
            }
            if (broken) {
              brokenSeq = expectSeq;
              break;
            }
            prev = r.hash;
            expectSeq += 1;
            count += 1;
          }
          if (broken) break;
        }
        chains.push({ replica_id, events: count, head_hash: count ? prev : null });
        if (broken && !firstBroken) firstBroken = { replica_id, seq: brokenSeq, reason: broken };
      }
      return { ok: firstBroken === null, chains, first_broken: firstBroken };
    },
  };
}

function toEvent(seq: number, r: AuditRecord, hash: string): Event {
  return {
    seq,
    id: r.id,
    ts: r.ts,
    replica_id: r.replica_id,
    event: r.event,
    outcome: r.outcome as Event['outcome'],
    actor: { key_prefix: r.actor.key_prefix, caller: r.actor.caller, agent_id: r.actor.agent_id ?? null },
    principal_type: r.principal_type,
    principal: { type: r.principal_type, app_user_id: r.app_user_id ?? null },
    grant_id: r.grant_id,
    grant_kind: r.grant_kind,
    managed_secret_id: r.managed_secret_id,
    provider_id: r.provider_id,
    method: r.method,
    url: r.url,
    status_code: r.status_code,
    latency_ms: r.latency_ms,
    error_code: r.error_code,
    reason: r.reason,
    context: r.context,
    trace: r.trace,
    details: r.details ?? null,
    hash,
  };
}
