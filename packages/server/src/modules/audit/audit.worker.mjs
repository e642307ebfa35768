// Audit threads (SQLite only). Plain JavaScript so that it runs as-is under tsx, Vitest and the
// compiled build: the worker is started by file URL, outside any TypeScript loader.
//
// Each thread owns its own connection to the SQLite file (WAL: readers are not blocked, writers
// take turns through the busy timeout). Two roles:
//
// - `insert`: builds the records of a batch (canonical JSON, `audit.chain.mjs`, the same code the
//   event loop uses for inline commits), chains their hashes onto the head it is given (or onto its
//   own last batch's), inserts them in one transaction, then answers with the new head. The main
//   thread sends batches one after another and knows how many rows each holds: it checks that the
//   head this thread answers is the sequence it expects. This thread commits them in order, so the
//   order of rows never depends on it.
// - `checkpoint`: runs a PASSIVE WAL checkpoint on a timer, so inline commits on the event loop
//   (light load) rarely pay for one: that connection checkpoints only past 4,096 pages while the
//   threads run (back-to-back inline commits: see `INLINE_WAL_AUTOCHECKPOINT` in audit.writer.ts),
//   and a PASSIVE checkpoint never blocks writers. Under sustained load the insert thread
//   checkpoints after its own commits (see below).
//
// Messages in:  { id, epoch, start: [seq, hash] | null, fields }  (insert; fields: `recordFields`
//               arrays in chain order)  |  { id, close: true }
// Messages out: { ready: true }  (once, when the connection is open and the statement prepared)
//               | { id, ok: true, seq, hash } | { id, ok: false, code, message }
import { parentPort, workerData } from 'node:worker_threads';
import SQLite from 'better-sqlite3';
import { chainRows, ROW_COLUMNS } from './audit.chain.mjs';

const { file, role, replicaId, busyTimeoutMs, checkpointIntervalMs } = workerData;
const WAL_SIZE_LIMIT_BYTES = 16 * 1024 * 1024;
const db = new SQLite(file);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.pragma(`busy_timeout = ${Number(busyTimeoutMs) || 5000}`);
// A restarted log is cut back to this size (bytes) instead of keeping its high-water mark.
db.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
// The insert thread checkpoints right after its own commits (SQLite's default threshold): under
// sustained load it is the writer, and only a checkpoint run between two of its commits backfills
// the whole log, so that the next commit restarts it. A checkpoint running beside a busy writer
// never catches up and the log would grow without bound. The event loop's connection has automatic
// checkpoints only past 4,096 pages, and the checkpoint thread covers light load, when commits are
// inline.
db.pragma(`wal_autocheckpoint = ${role === 'insert' ? 1000 : 0}`);

function checkpoint() {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    // A busy or failed checkpoint is retried at the next tick; commits are unaffected.
  }
}

const timer = role === 'checkpoint' ? setInterval(checkpoint, Number(checkpointIntervalMs) || 100) : undefined;
const insertAll =
  role === 'insert'
    ? (() => {
        const stmt = db.prepare(
          `INSERT INTO audit_events (${ROW_COLUMNS.join(', ')}) VALUES (${ROW_COLUMNS.map(() => '?').join(', ')})`,
        );
        return db.transaction((rows) => {
          for (const r of rows) stmt.run(r);
        });
      })()
    : undefined;

/** The epoch of the last failed batch: queued batches of the same epoch are refused. */
let failedEpoch = -1;
/** `[seq, hash]` of the last row this thread committed; null before its first batch and after a failure. */
let head = null;

function refuse(id, code, message) {
  parentPort.postMessage({ id, ok: false, code, message });
}

parentPort.on('message', (msg) => {
  if (msg.close) {
    if (timer) {
      clearInterval(timer);
      checkpoint();
    }
    db.close();
    parentPort.postMessage({ id: msg.id, ok: true });
    parentPort.close();
    return;
  }
  if (msg.epoch === failedEpoch) {
    // An earlier batch of this epoch failed: this one chains onto rows that were never written.
    refuse(msg.id, 'AFTER_FAILED_BATCH', 'an earlier batch failed');
    return;
  }
  const start = msg.start ?? head;
  if (start === null) {
    failedEpoch = msg.epoch;
    refuse(msg.id, 'NO_CHAIN_HEAD', 'no chain head to extend');
    return;
  }
  try {
    const { rows, seq, hash } = chainRows(msg.fields, replicaId, start[0], start[1]);
    insertAll.immediate(rows);
    head = [seq, hash];
    parentPort.postMessage({ id: msg.id, ok: true, seq, hash });
  } catch (err) {
    failedEpoch = msg.epoch;
    head = null;
    // Only the driver's code and message cross back; rows are never echoed.
    refuse(msg.id, err?.code ?? 'UNKNOWN', String(err?.message ?? err));
  }
});

parentPort.postMessage({ ready: true });
