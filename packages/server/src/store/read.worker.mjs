// The read thread (SQLite file databases only): runs the hot path's point reads (a grant with its
// secret, a secret, an API key, by primary key) on its own connection, so a read that goes to disk
// (a leaf page the OS page cache no longer holds) blocks this thread, not the event loop. Plain
// JavaScript so that it runs as-is under tsx, Vitest and the compiled build (started by file URL,
// outside any TypeScript loader).
//
// The connection is `query_only`: it never writes. In WAL mode it reads the last committed state
// when each statement starts (never another connection's open transaction), like a PostgreSQL read
// under READ COMMITTED.
//
// Messages in:  { prepare: [index, sql] }  (statement `index` is `sql`, raw mode: rows as arrays)
//               { id, reads: [[index, param], …] }  (in order; answered together)
//               { close: true }
// Messages out: { id, results: [values | null | { code, message }, …] }  (a row's values, no row,
//               or the driver's error code and message for that read)
import { parentPort, workerData } from 'node:worker_threads';
import SQLite from 'better-sqlite3';

const { file, busyTimeoutMs } = workerData;
const db = new SQLite(file, { fileMustExist: true });
db.pragma(`busy_timeout = ${Number(busyTimeoutMs) || 5000}`);
db.pragma('query_only = ON');

/** Prepared statements by index. */
const statements = [];

parentPort.on('message', (msg) => {
  if (msg.close) {
    db.close();
    parentPort.close();
    return;
  }
  if (msg.prepare) {
    const [index, sql] = msg.prepare;
    try {
      statements[index] = db.prepare(sql).raw(true);
    } catch (err) {
      // Every read of it answers this error.
      statements[index] = { error: { code: err?.code ?? 'PREPARE_FAILED', message: String(err?.message ?? err) } };
    }
    return;
  }
  const results = new Array(msg.reads.length);
  for (let i = 0; i < msg.reads.length; i++) {
    const [index, param] = msg.reads[i];
    const stmt = statements[index];
    try {
      if (!stmt) throw Object.assign(new Error(`no statement ${index}`), { code: 'NO_STATEMENT' });
      if (stmt.error) {
        results[i] = stmt.error;
        continue;
      }
      results[i] = stmt.get(param) ?? null;
    } catch (err) {
      // Only the driver's code and message cross back.
      results[i] = { code: err?.code ?? 'UNKNOWN', message: String(err?.message ?? err) };
    }
  }
  parentPort.postMessage({ id: msg.id, results });
});
