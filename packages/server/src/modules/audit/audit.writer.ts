import { randomUUID } from 'node:crypto';
import type { Database as SqliteDatabase } from 'better-sqlite3';
import type { Logger } from 'pino';
import type { AuditEventsTable, Db } from '../../store/types.js';
import { canonicalJson, chainHash, GENESIS_HASH } from './audit.fns.js';
import type { AuditInput, AuditRecord } from './audit.types.js';

type Row = Omit<AuditEventsTable, 'seq'>;
interface Pending {
  record: Omit<AuditRecord, 'chain_seq' | 'id'>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

const BATCH_ROWS = 400;
const ROW_COLUMNS = [
  'id',
  'replica_id',
  'chain_seq',
  'ts',
  'app_id',
  'event',
  'outcome',
  'record',
  'prev_hash',
  'hash',
  'grant_id',
  'managed_secret_id',
  'key_prefix',
  'agent_id',
  'app_user_id',
] as const;

/**
 * JavaScript enumerates integer-like keys ("7", "10") before all others, whatever the insertion
 * order, so a map holding one cannot rely on `JSON.stringify` for canonical order.
 */
function hasIndexLikeKey(m: Record<string, unknown> | null): boolean {
  return m !== null && Object.keys(m).some((k) => /^\d+$/.test(k));
}

/** A free-form string map with its keys in sorted order (for canonical JSON). */
function sortedMap<V>(m: Record<string, V> | null | undefined): Record<string, V> | null {
  if (!m) return null;
  const out: Record<string, V> = {};
  for (const k of Object.keys(m).sort()) out[k] = m[k]!;
  return out;
}

/**
 * The record as hashed and stored, built with every object's keys in sorted order, so that
 * `JSON.stringify` of it IS its canonical JSON (what `verify` recomputes with `canonicalJson`).
 * A unit test checks the two agree; keep the key order sorted when adding fields.
 */
export function sealRecord(r: Omit<AuditRecord, 'chain_seq' | 'id'>, chainSeq: number): AuditRecord {
  return {
    actor: { agent_id: r.actor.agent_id ?? null, caller: r.actor.caller, key_prefix: r.actor.key_prefix },
    app_id: r.app_id,
    app_user_id: r.app_user_id ?? null,
    chain_seq: chainSeq,
    context: sortedMap(r.context),
    details: sortedMap(r.details),
    error_code: r.error_code,
    event: r.event,
    grant_id: r.grant_id,
    grant_kind: r.grant_kind,
    id: `${r.replica_id}-${String(chainSeq).padStart(12, '0')}`,
    latency_ms: r.latency_ms,
    managed_secret_id: r.managed_secret_id,
    method: r.method,
    outcome: r.outcome,
    principal_type: r.principal_type,
    provider_id: r.provider_id,
    reason: r.reason,
    replica_id: r.replica_id,
    status_code: r.status_code,
    trace: { role: r.trace.role, run_id: r.trace.run_id, thread_id: r.trace.thread_id, tool: r.trace.tool },
    ts: r.ts,
    url: r.url,
  };
}

/**
 * Group-commit writer of this replica's audit chain (DESIGN §9). Records appended while a commit
 * runs are written together in the next transaction, so under load many requests share one commit;
 * with no load a record is committed on the next event-loop turn. Each record extends the chain:
 * `hash = SHA-256("latchkey-audit-v1" | prev_hash | canonical JSON)`.
 */
export class AuditWriter {
  readonly replicaId: string;
  #db: Db;
  #log: Logger;
  #pending: Pending[] = [];
  #flushing = false;
  #scheduled = false;
  #headSeq = 0;
  #headHash = GENESIS_HASH;
  #healthy = true;
  #probeTimer: NodeJS.Timeout | undefined;
  #closed = false;
  /** Set after a failed commit: the commit may have landed even though its acknowledgement was lost. */
  #resync = false;
  readonly #sqlite: SqliteDatabase | undefined;
  #sqliteStmt: ReturnType<SqliteDatabase['prepare']> | undefined;
  #sqliteInsert: ((rows: Row[]) => void) | undefined;

  /**
   * @param db database handle.
   * @param replicaId this replica's chain id.
   * @param log logger (never given record contents).
   * @param sqlite the raw better-sqlite3 handle when the store is SQLite (fast insert path).
   */
  constructor(db: Db, replicaId: string, log: Logger, sqlite?: SqliteDatabase) {
    this.#db = db;
    this.#sqlite = sqlite;
    this.replicaId = replicaId;
    this.#log = log;
  }

  /** Loads the chain head of this replica and starts the 1 s writability probe. */
  async init(probeIntervalMs = 1000): Promise<void> {
    await this.#loadHead();
    this.#probeTimer = setInterval(() => void this.#probe(), probeIntervalMs);
    this.#probeTimer.unref();
  }

  /** Reads this replica's chain head from the database. */
  async #loadHead(): Promise<void> {
    const head = await this.#db
      .selectFrom('audit_events')
      .select(['chain_seq', 'hash'])
      .where('replica_id', '=', this.replicaId)
      .orderBy('chain_seq', 'desc')
      .limit(1)
      .executeTakeFirst();
    if (head) {
      this.#headSeq = Number(head.chain_seq);
      this.#headHash = head.hash;
    }
  }

  /** Whether the last write (or probe) succeeded. Secret-using calls are refused while false. */
  get healthy(): boolean {
    return this.#healthy;
  }

  /** Number of records waiting to be committed (a metric). */
  get queueDepth(): number {
    return this.#pending.length;
  }

  /**
   * Appends a record; the promise resolves once it is committed.
   *
   * @throws the database error if the commit fails (callers map it to `audit_unavailable`).
   */
  append(input: AuditInput): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('audit writer closed'));
    const record = toRecord(input, this.replicaId);
    return new Promise<void>((resolve, reject) => {
      this.#pending.push({ record, resolve, reject });
      this.#schedule();
    });
  }

  /** Waits until everything appended so far is committed (or failed). */
  async drain(): Promise<void> {
    while (this.#pending.length > 0 || this.#flushing) {
      await new Promise((r) => setTimeout(r, 1));
    }
  }

  /** Drains and stops the probe. */
  async close(): Promise<void> {
    await this.drain();
    this.#closed = true;
    if (this.#probeTimer) clearInterval(this.#probeTimer);
  }

  #schedule(): void {
    if (this.#scheduled || this.#flushing) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      void this.#flush();
    });
  }

  async #flush(): Promise<void> {
    if (this.#flushing || this.#pending.length === 0) return;
    this.#flushing = true;
    if (this.#resync) {
      try {
        await this.#loadHead();
        this.#resync = false;
      } catch {
        // Still unreachable: the batch below fails too and is reported to its callers.
      }
    }
    const batch = this.#pending.splice(0, this.#pending.length);
    const startSeq = this.#headSeq;
    const startHash = this.#headHash;
    let seq = startSeq;
    let prev = startHash;
    const rows: Row[] = batch.map(({ record }) => {
      seq += 1;
      // The id follows the chain, so ids are unique and ascending (cheap to index, unlike random UUIDs).
      const full = sealRecord(record, seq);
      const canonical =
        hasIndexLikeKey(full.context) || hasIndexLikeKey(full.details) ? canonicalJson(full) : JSON.stringify(full);
      const hash = chainHash(prev, canonical);
      const row: Row = {
        id: full.id,
        replica_id: full.replica_id,
        chain_seq: seq,
        ts: full.ts,
        app_id: full.app_id,
        event: full.event,
        outcome: full.outcome,
        record: canonical,
        prev_hash: prev,
        hash,
        grant_id: full.grant_id,
        managed_secret_id: full.managed_secret_id,
        key_prefix: full.actor.key_prefix,
        agent_id: full.actor.agent_id ?? null,
        app_user_id: full.app_user_id ?? null,
      };
      prev = hash;
      return row;
    });
    try {
      await this.#insert(rows);
      this.#headSeq = seq;
      this.#headHash = prev;
      this.#healthy = true;
      for (const p of batch) p.resolve();
    } catch (err) {
      this.#healthy = false;
      this.#resync = true;
      this.#log.error({ err: { code: (err as { code?: string }).code }, rows: rows.length }, 'audit commit failed');
      for (const p of batch) p.reject(err);
    } finally {
      this.#flushing = false;
      if (this.#pending.length > 0) this.#schedule();
    }
  }

  /**
   * Inserts a batch in one transaction. On SQLite a prepared single-row INSERT runs inside one
   * better-sqlite3 transaction on Kysely's own (mutex-guarded) connection: the SQL text is fixed, so it
   * is prepared once, instead of a new multi-row statement per batch size.
   */
  async #insert(rows: Row[]): Promise<void> {
    if (this.#sqlite) {
      const sqlite = this.#sqlite;
      await this.#db.connection().execute(async () => {
        this.#sqliteInsert ??= sqlite.transaction((batch: Row[]) => {
          const stmt = (this.#sqliteStmt ??= sqlite.prepare(
            `INSERT INTO audit_events (${ROW_COLUMNS.join(', ')}) VALUES (${ROW_COLUMNS.map((c) => `@${c}`).join(', ')})`,
          ));
          for (const r of batch) stmt.run(r);
        });
        this.#sqliteInsert(rows);
      });
      return;
    }
    await this.#db.transaction().execute(async (tx) => {
      for (let i = 0; i < rows.length; i += BATCH_ROWS) {
        await tx
          .insertInto('audit_events')
          .values(rows.slice(i, i + BATCH_ROWS))
          .execute();
      }
    });
  }

  /** Proves the audit table is writable with an insert that is rolled back. */
  async #probe(): Promise<void> {
    if (this.#flushing || this.#closed) return;
    const rollback = new Error('probe rollback');
    try {
      await this.#db.transaction().execute(async (tx) => {
        await tx
          .insertInto('audit_events')
          .values({
            id: `probe-${randomUUID()}`,
            replica_id: `${this.replicaId}#probe`,
            chain_seq: 0,
            ts: new Date().toISOString(),
            app_id: null,
            event: 'probe',
            outcome: 'success',
            record: '{}',
            prev_hash: GENESIS_HASH,
            hash: GENESIS_HASH,
            grant_id: null,
            managed_secret_id: null,
            key_prefix: null,
            agent_id: null,
            app_user_id: null,
          })
          .execute();
        throw rollback;
      });
    } catch (err) {
      if (err === rollback) {
        if (!this.#healthy) this.#log.warn('audit store writable again');
        this.#healthy = true;
      } else {
        if (this.#healthy) this.#log.error('audit store not writable; secret-using calls are refused');
        this.#healthy = false;
      }
    }
  }
}

function toRecord(i: AuditInput, replicaId: string): Omit<AuditRecord, 'chain_seq' | 'id'> {
  return {
    ts: new Date().toISOString(),
    replica_id: replicaId,
    app_id: i.appId,
    event: i.event,
    outcome: i.outcome,
    actor: {
      key_prefix: i.actor?.keyPrefix ?? null,
      caller: i.actor?.caller ?? null,
      agent_id: i.actor?.agentId ?? null,
    },
    principal_type: i.principalType ?? null,
    app_user_id: i.appUserId ?? null,
    grant_id: i.grantId ?? null,
    grant_kind: i.grantKind ?? null,
    managed_secret_id: i.managedSecretId ?? null,
    provider_id: i.providerId ?? null,
    method: i.method ?? null,
    url: i.url ?? null,
    status_code: i.statusCode ?? null,
    latency_ms: i.latencyMs ?? null,
    error_code: i.errorCode ?? null,
    reason: i.reason ?? null,
    context: i.context ?? null,
    trace: {
      run_id: i.trace?.runId ?? null,
      thread_id: i.trace?.threadId ?? null,
      tool: i.trace?.tool ?? null,
      role: i.trace?.role ?? null,
    },
    details: i.details ?? null,
  };
}
