// Audit insert thread (SQLite only). Plain JavaScript so that it runs as-is under tsx, Vitest and
// the compiled build: the worker is started by file URL, outside any TypeScript loader.
//
// It owns a second connection to the same SQLite file (WAL: readers are not blocked, writers take
// turns through the busy timeout) and does one thing: insert a batch of already hashed audit rows
// in one transaction, then answer. The chain (sequence numbers, hashes) is decided on the main
// thread, so the order of rows never depends on this thread.
//
// Messages in:  { id, rows }  where rows is an array of arrays in ROW_COLUMNS order
//               { id, close: true }
// Messages out: { id, ok: true } | { id, ok: false, code, message }
import { parentPort, workerData } from 'node:worker_threads';
import SQLite from 'better-sqlite3';

const { file, columns, busyTimeoutMs } = workerData;
const db = new SQLite(file);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.pragma(`busy_timeout = ${Number(busyTimeoutMs) || 5000}`);
const insert = db.prepare(
  `INSERT INTO audit_events (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`,
);
const insertAll = db.transaction((rows) => {
  for (const r of rows) insert.run(r);
});

parentPort.on('message', (msg) => {
  if (msg.close) {
    db.close();
    parentPort.postMessage({ id: msg.id, ok: true });
    parentPort.close();
    return;
  }
  try {
    insertAll(msg.rows);
    parentPort.postMessage({ id: msg.id, ok: true });
  } catch (err) {
    // Only the driver's code and message cross back; rows are never echoed.
    parentPort.postMessage({
      id: msg.id,
      ok: false,
      code: err?.code ?? 'UNKNOWN',
      message: String(err?.message ?? err),
    });
  }
});
