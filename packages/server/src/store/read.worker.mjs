// The read thread (SQLite file databases only): runs the hot path's point reads (a grant with its
// secret, a secret, an API key, by primary key) on its own connection, so a read that goes to disk
// (a leaf page the OS page cache no longer holds) blocks this thread, not the event loop. Plain
// JavaScript so that it runs as-is under tsx, Vitest and the compiled build (started by file URL,
// outside any TypeScript loader).
//
// The connection is `query_only`: it never writes. In WAL mode it reads the last committed state
// when each statement starts (never another connection's open transaction), like a PostgreSQL read
// under READ COMMITTED. Without WAL its read locks would make the main connection's commits wait, so
// the thread refuses to start then (the main thread reads inline instead).
//
// Messages in:  { prepare: [index, sql] }  (statement `index` is `sql`; rows come back as arrays)
//               { id, reads: [[index, param], …] }  (in order; answered together)
//               { close: true }
// Messages out: { ready: true }  (once, when the connection is open)
//               { id, results: [values | null | { code, message }, …] }  (a row's values, no row,
//               or the driver's error code and message for that read)
import { parentPort, workerData } from 'node:worker_threads';
import SQLite from 'better-sqlite3';

const { file, busyTimeoutMs } = workerData;
const db = new SQLite(file, { fileMustExist: true });
db.pragma(`busy_timeout = ${Number(busyTimeoutMs) || 5000}`);
db.pragma('query_only = ON');
const mode = db.pragma('journal_mode', { simple: true });
if (mode !== 'wal') throw Object.assign(new Error(`journal_mode is ${mode}, not wal`), { code: 'NOT_WAL' });

/** Statements by index: the SQL, and its prepared form once a prepare succeeded. */
const statements = [];

/** The prepared statement `index`, preparing it now if an earlier attempt failed (a busy schema read). */
function prepared(index) {
  const s = statements[index];
  if (!s) throw Object.assign(new Error(`no statement ${index}`), { code: 'NO_STATEMENT' });
  s.stmt ??= db.prepare(s.sql).raw(true);
  return s.stmt;
}

parentPort.on('message', (msg) => {
  if (msg.close) {
    db.close();
    parentPort.close();
    return;
  }
  if (msg.prepare) {
    const [index, sql] = msg.prepare;
    statements[index] = { sql, stmt: undefined };
    try {
      prepared(index);
    } catch {
      // Retried at its first read, which answers the error if it persists.
    }
    return;
  }
  const results = new Array(msg.reads.length);
  for (let i = 0; i < msg.reads.length; i++) {
    const [index, param] = msg.reads[i];
    try {
      results[i] = prepared(index).get(param) ?? null;
    } catch (err) {
      // Only the driver's code and message cross back.
      results[i] = { code: err?.code ?? 'UNKNOWN', message: String(err?.message ?? err) };
    }
  }
  parentPort.postMessage({ id: msg.id, results });
});

parentPort.postMessage({ ready: true });
