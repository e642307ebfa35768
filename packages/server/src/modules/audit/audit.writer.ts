import { randomUUID } from 'node:crypto';
import type { Worker } from 'node:worker_threads';
import type { Database as SqliteDatabase, Transaction as SqliteTransaction } from 'better-sqlite3';
import { CompiledQuery } from 'kysely';
import type { Logger } from 'pino';
import { isoNow } from '../../iso-time.js';
import type { Db } from '../../store/types.js';
import { startDbWorker } from '../../store/worker-start.js';
import {
  chainRows,
  GENESIS_HASH,
  recordFields,
  ROW_COLUMNS,
  type RecordFields,
  type RowValues,
} from './audit.chain.mjs';
import type { AuditInput } from './audit.types.js';

/** The head of the chain after a batch the insert thread committed. */
interface ChainEnd {
  seq: number;
  hash: string;
}

interface Pending {
  input: AuditInput;
  ts: string;
  resolve: () => void;
  reject: (err: unknown) => void;
}

const BATCH_ROWS = 400;
/** SQLite's default `wal_autocheckpoint` (pages). */
const DEFAULT_WAL_AUTOCHECKPOINT = 1000;
/** Batches of at most this many rows commit on the event loop even when an insert thread runs. */
const INLINE_MAX_ROWS = 4;
/**
 * `wal_autocheckpoint` (pages) of the event loop's connection while the audit threads run: 16 MiB of
 * 4 KiB pages, the size a restarted log is cut back to. The checkpoint thread's PASSIVE checkpoints
 * copy the log but never restart it: the next writer does, only if every frame was copied when it
 * starts. Inline commits on the event loop (a few rows each) come every fraction of a millisecond
 * at one or a few busy connections, so every such checkpoint overlapped one, and with automatic
 * checkpoints off on this connection the log grew without bound: 677 MB after 10 s at one
 * connection (3,100 commits a second), and the next burst's insert thread then stalled on a
 * checkpoint of all of it (p99 201 ms at 50 connections, against 10 ms). Past this size each commit
 * checkpoints the rest (the checkpoint thread has copied most of it) before the next commit, which
 * then restarts the log; a commit whose checkpoint finds the checkpoint thread's under way skips it
 * (SQLITE_BUSY, never waiting) and a later one retries, so the log peaks a little above this size
 * (21.7 MB in the test). Under sustained load the insert thread restarts the log itself at 1,000
 * pages, so this connection never reaches it.
 */
const INLINE_WAL_AUTOCHECKPOINT = 4096;

const pgInsertSqlBySize = new Map<number, string>();

/** `INSERT INTO audit_events (…) VALUES ($1, …), (…)` for `n` rows (PostgreSQL placeholders), memoized. */
function pgInsertSql(n: number): string {
  let sql = pgInsertSqlBySize.get(n);
  if (!sql) {
    const w = ROW_COLUMNS.length;
    const tuples = Array.from(
      { length: n },
      (_, r) => `(${ROW_COLUMNS.map((_c, k) => `$${r * w + k + 1}`).join(', ')})`,
    );
    sql = `INSERT INTO audit_events (${ROW_COLUMNS.join(', ')}) VALUES ${tuples.join(', ')}`;
    pgInsertSqlBySize.set(n, sql);
  }
  return sql;
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
  /** Batches being committed (at most 1 inline or on PostgreSQL; see `batchesInFlight` for the insert thread). */
  #inFlight = 0;
  /** Batches the insert thread may hold at once (`init`'s `batchesInFlight`). */
  #threadBatches = 1;
  /** Bumped by a failed commit: batches hashed before it chain onto rows that were never written. */
  #epoch = 0;
  #scheduled = false;
  #headSeq = 0;
  /**
   * Hash of the row at `#headSeq`; undefined while a batch on the insert thread, which builds and
   * hashes its own records, has not answered yet, and after such a batch failed until the head is
   * re-read (`#resync`).
   */
  #headHash: string | undefined = GENESIS_HASH;
  #healthy = true;
  #probeTimer: NodeJS.Timeout | undefined;
  #closed = false;
  /** Set after a failed commit: the commit may have landed even though its acknowledgement was lost. */
  #resync = false;
  readonly #sqlite: SqliteDatabase | undefined;
  #sqliteStmt: ReturnType<SqliteDatabase['prepare']> | undefined;
  #sqliteInsert: SqliteTransaction<(rows: RowValues[]) => void> | undefined;
  /**
   * The insert and checkpoint threads (SQLite file databases), or undefined: inserts and automatic
   * checkpoints then run on this thread.
   */
  #threads: { insert: AuditThread; checkpoint: AuditThread } | undefined;
  /** Batches committed, by where they were committed (see {@link AuditWriter.commits}). */
  #commits = { inline: 0, thread: 0 };

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

  /**
   * Loads the chain head of this replica, starts the audit threads (SQLite file databases, unless
   * `insertThread` is false) and the 1 s writability probe. Threads that cannot open the database
   * are logged (`warn`, the error's code) and commits then run on this thread.
   *
   * @param probeIntervalMs writability probe period, milliseconds.
   * @param opts `batchesInFlight`: batches the insert thread may hold at once (default 1). One
   *   commits while the next batch gathers on this thread, so under load batches are about twice as
   *   large as with two (one committing, one queued), and each row costs the thread less: fewer
   *   commits, each rewriting the same index leaves (issue 4: 9,200–10,900 → 10,350–11,570 req/s,
   *   insert thread 15.4–16.9 → 14.1–15.9 µs per row, in 3 interleaved pairs at 50 connections).
   * @throws TypeError when `batchesInFlight` is not a positive integer; the database error when the
   *   chain head cannot be read.
   */
  async init(probeIntervalMs = 1000, opts: { insertThread?: boolean; batchesInFlight?: number } = {}): Promise<void> {
    const n = opts.batchesInFlight ?? 1;
    if (!Number.isInteger(n) || n < 1) throw new TypeError('batchesInFlight must be a positive integer');
    this.#threadBatches = n;
    await this.#loadHead();
    const file = this.#sqlite?.name;
    const sqlite = this.#sqlite;
    if (sqlite && opts.insertThread !== false && file && file !== ':memory:' && !sqlite.memory) {
      const threads = await this.#startThreads(file).catch((err: unknown) => {
        this.#log.warn(
          { err: { code: (err as { code?: string }).code } },
          'audit threads did not start; writing inline',
        );
        return undefined;
      });
      if (threads) {
        this.#threads = threads;
        sqlite.pragma(`wal_autocheckpoint = ${INLINE_WAL_AUTOCHECKPOINT}`);
      }
    }
    this.#probeTimer = setInterval(() => void this.#probe(), probeIntervalMs);
    this.#probeTimer.unref();
  }

  /**
   * Starts the insert and checkpoint threads on `file`; if the second cannot start, the first is
   * closed. Either one stopping later runs `#stopThreads` (commits go inline).
   * @throws Error when a thread cannot open the database.
   */
  async #startThreads(file: string): Promise<{ insert: AuditThread; checkpoint: AuditThread }> {
    const onDeath = () => void this.#stopThreads();
    const insert = await AuditThread.start(file, 'insert', this.replicaId, this.#log, onDeath);
    let checkpoint: AuditThread;
    try {
      checkpoint = await AuditThread.start(file, 'checkpoint', this.replicaId, this.#log, onDeath);
    } catch (err) {
      await insert.close();
      throw err;
    }
    // The insert thread died while the checkpoint thread started (its onDeath found no threads to
    // stop): neither is used, or commits would go inline beside a thread that only checkpoints.
    if (!insert.alive) {
      await checkpoint.close();
      throw Object.assign(new Error('audit insert thread stopped during start'), { code: 'EXIT' });
    }
    return { insert, checkpoint };
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
    // No row yet: the chain starts at genesis (a failed first batch must not leave its sequence).
    this.#headSeq = head ? Number(head.chain_seq) : 0;
    this.#headHash = head ? head.hash : GENESIS_HASH;
  }

  /** Whether the last write (or probe) succeeded. Secret-using calls are refused while false. */
  get healthy(): boolean {
    return this.#healthy;
  }

  /** Whether commits run on the insert thread (SQLite file databases) rather than on this thread. */
  get usesInsertThread(): boolean {
    return this.#threads?.insert.alive === true;
  }

  /**
   * Stops both threads (one died, or the writer closes): inserts go back to this thread and this
   * connection does the WAL checkpoints again.
   */
  async #stopThreads(): Promise<void> {
    const threads = this.#threads;
    this.#threads = undefined;
    if (!threads) return;
    await Promise.all([threads.insert.close(), threads.checkpoint.close()]);
    if (this.#sqlite?.open) this.#sqlite.pragma(`wal_autocheckpoint = ${DEFAULT_WAL_AUTOCHECKPOINT}`);
  }

  /**
   * Batches committed since this writer was constructed, by where: `inline` on this thread (light
   * load, PostgreSQL, or no insert thread), `thread` on the insert thread. A copy; failed commits are
   * not counted.
   */
  get commits(): { inline: number; thread: number } {
    return { ...this.#commits };
  }

  /** Number of records waiting to be committed (a metric). */
  get queueDepth(): number {
    return this.#pending.length;
  }

  /**
   * Appends a record; the promise resolves once it is committed. `input` is read when the batch is
   * committed: do not change it afterwards.
   *
   * @throws the database error if the commit fails (callers map it to `audit_unavailable`).
   */
  append(input: AuditInput): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('audit writer closed'));
    const ts = isoNow();
    return new Promise<void>((resolve, reject) => {
      this.#pending.push({ input, ts, resolve, reject });
      this.#schedule();
    });
  }

  /** Waits until everything appended so far is committed (or failed). */
  async drain(): Promise<void> {
    while (this.#pending.length > 0 || this.#inFlight > 0) {
      await new Promise((r) => setTimeout(r, 1));
    }
  }

  /** Drains, stops the probe and the audit threads. */
  async close(): Promise<void> {
    await this.drain();
    this.#closed = true;
    if (this.#probeTimer) clearInterval(this.#probeTimer);
    await this.#stopThreads();
  }

  /** How many batches may be in flight: `batchesInFlight` on the insert thread, else one. */
  #maxInFlight(): number {
    return this.#threads?.insert.alive ? this.#threadBatches : 1;
  }

  #schedule(): void {
    if (this.#scheduled || this.#inFlight >= this.#maxInFlight()) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      void this.#flush();
    });
  }

  /**
   * Commits what is pending as one batch. The chain's sequence advances when the batch is sent; the
   * head hash is known once it is hashed: at once for an inline commit, when the insert thread
   * answers for a batch it built and hashed itself. With `batchesInFlight` ≥ 2 the next batch can be
   * queued on the thread while this one commits, and the thread chains it onto its own head (it
   * commits in order). A failed commit bumps the epoch: the thread then refuses
   * every batch of the old epoch still queued (they chain onto rows that were never written), and the
   * next batch starts from the head re-read from the database once nothing is in flight.
   */
  async #flush(): Promise<void> {
    if (this.#pending.length === 0 || this.#inFlight >= this.#maxInFlight()) return;
    if (this.#resync) {
      // Rows of batches still in flight may or may not land: wait for them before re-reading.
      if (this.#inFlight > 0) return;
      this.#inFlight += 1;
      let headErr: unknown;
      try {
        await this.#loadHead();
        this.#resync = false;
      } catch (err) {
        headErr = err;
      }
      this.#inFlight -= 1;
      if (this.#resync) {
        // The head is unknown (the store is still unreachable): hashing on a guess could leave a
        // gap in the chain, so what is pending fails now, and the next append tries again.
        this.#healthy = false;
        for (const p of this.#pending.splice(0, this.#pending.length)) p.reject(headErr);
        return;
      }
      if (this.#pending.length === 0) return;
    }
    this.#inFlight += 1;
    const epoch = this.#epoch;
    const batch = this.#pending.splice(0, this.#pending.length);
    const startSeq = this.#headSeq;
    const startHash = this.#headHash;
    const endSeq = startSeq + batch.length;
    this.#headSeq = endSeq;
    try {
      const fields = new Array<RecordFields>(batch.length);
      for (let k = 0; k < batch.length; k++) fields[k] = recordFields(batch[k]!.input, batch[k]!.ts);
      const thread = this.#threads?.insert;
      // A small batch (light load) commits inline: a commit of a row or two costs less than two
      // thread hand-offs, and latency is what matters then. Under load, batches grow and go to the
      // thread, which also builds and hashes their records, off the event loop. Batches are
      // committed one at a time, so the two connections never write at once.
      // Inline only when this is the one batch in flight: an inline commit must not overtake a batch
      // queued on the thread (chain order), nor wait on the thread's write lock; so the head hash is
      // known then. Nor while a Kysely transaction holds this connection: waiting for it would let
      // a later batch, sent to the thread meanwhile, commit first.
      if (thread?.alive && (batch.length > INLINE_MAX_ROWS || this.#inFlight > 1 || this.#sqlite?.inTransaction)) {
        this.#headHash = undefined;
        // Without a known head (a thread batch is still in flight) the thread continues its own chain.
        const end = await thread.insert(fields, epoch, startHash === undefined ? null : [startSeq, startHash]);
        if (end.seq !== endSeq) throw new Error(`audit thread ended the chain at ${end.seq}, expected ${endSeq}`);
        this.#commits.thread += 1;
        // A later batch, sent meanwhile, sets the head when it answers.
        if (this.#headSeq === endSeq) this.#headHash = end.hash;
      } else {
        if (startHash === undefined) throw new Error('audit chain head unknown for an inline commit');
        const { rows, hash } = chainRows(fields, this.replicaId, startSeq, startHash);
        this.#headHash = hash;
        await this.#insertHere(rows);
        this.#commits.inline += 1;
      }
      if (epoch === this.#epoch) this.#healthy = true;
      for (const p of batch) p.resolve();
    } catch (err) {
      if (epoch === this.#epoch) {
        this.#epoch += 1;
        this.#healthy = false;
        this.#resync = true;
        // Until the head is re-read, it is the last one known committed, not this batch's end.
        this.#headSeq = startSeq;
        this.#headHash = startHash;
        this.#log.error({ err: { code: (err as { code?: string }).code }, rows: batch.length }, 'audit commit failed');
      }
      for (const p of batch) p.reject(err);
    } finally {
      this.#inFlight -= 1;
      if (this.#pending.length > 0) this.#schedule();
    }
  }

  /**
   * Inserts hashed rows in one transaction on this thread. On SQLite a prepared single-row INSERT
   * runs inside one better-sqlite3 transaction on Kysely's own (mutex-guarded) connection: the SQL
   * text is fixed, so it is prepared once, instead of a new multi-row statement per batch size.
   */
  async #insertHere(rows: RowValues[]): Promise<void> {
    if (this.#sqlite) {
      const sqlite = this.#sqlite;
      const insert = (this.#sqliteInsert ??= sqlite.transaction((batch: RowValues[]) => {
        const stmt = (this.#sqliteStmt ??= sqlite.prepare(
          `INSERT INTO audit_events (${ROW_COLUMNS.join(', ')}) VALUES (${ROW_COLUMNS.map(() => '?').join(', ')})`,
        ));
        for (const r of batch) stmt.run(r);
      }));
      // The insert is synchronous: with no Kysely transaction open on the shared connection it
      // cannot interleave with one, so it runs at once; otherwise it waits for Kysely's connection.
      if (!sqlite.inTransaction) insert.immediate(rows);
      else await this.#db.connection().execute(async () => insert.immediate(rows));
      return;
    }
    // PostgreSQL: one multi-row INSERT is atomic on its own, so a batch that fits in one statement
    // costs one round trip (no BEGIN/COMMIT); its SQL text is built once per batch size.
    if (rows.length <= BATCH_ROWS) {
      await this.#db.executeQuery(CompiledQuery.raw(pgInsertSql(rows.length), rows.flat()));
      return;
    }
    await this.#db.transaction().execute(async (tx) => {
      for (let i = 0; i < rows.length; i += BATCH_ROWS) {
        const chunk = rows.slice(i, i + BATCH_ROWS);
        await tx.executeQuery(CompiledQuery.raw(pgInsertSql(chunk.length), chunk.flat()));
      }
    });
  }

  /** Proves the audit table is writable with an insert that is rolled back. */
  async #probe(): Promise<void> {
    if (this.#inFlight > 0 || this.#closed) return;
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

/**
 * One audit thread (`audit.worker.mjs`) with its own SQLite connection: `insert` builds, hashes and
 * commits records off the event loop, so a request's share of the group commit (≈ 15–20 µs of
 * SQLite per row with the audit indexes, ≈ 6 µs for its canonical JSON and chain hash) does not
 * block other requests, one batch at a time, in order;
 * `checkpoint` runs PASSIVE WAL checkpoints on a timer, so no commit pays for one. If a thread dies,
 * `alive` turns false, its waiting batch is rejected and `onDeath` runs (the writer goes inline).
 */
class AuditThread {
  #worker: Worker;
  #next = 1;
  #waiting = new Map<number, { resolve: (end: ChainEnd) => void; reject: (err: unknown) => void }>();
  alive = true;

  private constructor(worker: Worker, log: Logger, onDeath: () => void) {
    this.#worker = worker;
    worker.on(
      'message',
      (m: { id: number; ok: boolean; seq?: number; hash?: string; code?: string; message?: string }) => {
        const w = this.#waiting.get(m.id);
        if (!w) return;
        this.#waiting.delete(m.id);
        if (m.ok && typeof m.seq === 'number' && typeof m.hash === 'string') w.resolve({ seq: m.seq, hash: m.hash });
        else if (m.ok)
          w.reject(Object.assign(new Error('audit thread answered without a chain head'), { code: 'NO_HEAD' }));
        else w.reject(Object.assign(new Error(m.message ?? 'audit insert failed'), { code: m.code }));
      },
    );
    const rejectWaiting = (err: unknown) => {
      for (const w of this.#waiting.values()) w.reject(err);
      this.#waiting.clear();
    };
    const died = (err: unknown) => {
      if (!this.alive) return;
      this.alive = false;
      log.error({ err: { code: (err as { code?: string })?.code } }, 'audit thread stopped; writing inline');
      rejectWaiting(err);
      onDeath();
    };
    worker.on('error', died);
    worker.on('exit', (code) => {
      const err = Object.assign(new Error(`audit thread exited (${code})`), { code: 'EXIT' });
      died(err);
      // Also after a close(): a batch still queued then never gets its answer.
      rejectWaiting(err);
    });
    // Referenced only while a batch is in flight: an idle thread never keeps the process alive.
    worker.unref();
  }

  /**
   * Starts a thread on `file` and waits until its connection is open (and, for `insert`, its
   * statement prepared). `onDeath` runs once if it stops unexpectedly afterwards.
   * @throws Error when the thread cannot open the database or prepare its statement.
   */
  static async start(
    file: string,
    role: 'insert' | 'checkpoint',
    replicaId: string,
    log: Logger,
    onDeath: () => void,
  ): Promise<AuditThread> {
    return startDbWorker(
      new URL('./audit.worker.mjs', import.meta.url),
      { file, role, replicaId, busyTimeoutMs: 5000, checkpointIntervalMs: 100 },
      (worker) => new AuditThread(worker, log, onDeath),
    );
  }

  /**
   * Builds, hashes and inserts the records of `fields` in one transaction on the thread; resolves
   * with the new chain head after commit. After a batch of `epoch` failed, the thread refuses the
   * later batches of that epoch without writing them.
   *
   * @param start the chain's committed head `[seq, hash]` to extend, or null to extend the head of
   *   the thread's own last batch (one still in flight when this one was sent). The thread refuses
   *   a batch with no head to extend.
   */
  insert(fields: RecordFields[], epoch: number, start: [number, string] | null): Promise<ChainEnd> {
    const id = this.#next++;
    if (this.#waiting.size === 0) this.#worker.ref();
    return new Promise<ChainEnd>((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      try {
        this.#worker.postMessage({ id, epoch, start, fields });
      } catch (err) {
        // A value that cannot be cloned: the batch fails here, and nothing waits for an answer.
        this.#waiting.delete(id);
        reject(err);
      }
    }).finally(() => {
      if (this.#waiting.size === 0 && this.alive) this.#worker.unref();
    });
  }

  /** Closes the thread's connection (a checkpoint thread checkpoints first) and waits for the end. */
  async close(): Promise<void> {
    if (!this.alive) return;
    this.alive = false;
    const exited = new Promise((r) => this.#worker.once('exit', r));
    // Referenced until it has exited, so the process waits for the connection to close.
    this.#worker.ref();
    this.#worker.postMessage({ id: 0, close: true });
    await exited;
  }
}
