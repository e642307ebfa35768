/**
 * What an audit row costs the SQLite insert thread per page size: the real schema (all migrations),
 * real rows (`auditRecordJson`, `chainHash`, `auditRow` of a forwarded call), the insert thread's
 * statement and pragmas (WAL, `synchronous=NORMAL`, checkpoint every 1,000 pages), batches of 14 and
 * 28 rows (what sync audit batches hold under 50 connections). Prints CPU µs per row and file bytes
 * per row. Single-threaded and offline, so steadier than a run under load.
 *
 * Usage: node --conditions=source --import tsx bench/sqlite-pages.ts [rows=200000]
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { chainHash, GENESIS_HASH } from '../packages/server/src/modules/audit/audit.fns.js';
import { auditRecordJson, auditRow, ROW_COLUMNS } from '../packages/server/src/modules/audit/audit.record.js';
import type { AuditInput } from '../packages/server/src/modules/audit/audit.types.js';
import { openStore } from '../packages/server/src/store/database.js';
import { migrateToLatest } from '../packages/server/src/store/migrate.js';

const ROWS = Number(process.argv[2] ?? 200_000);

/** The audit input of one forwarded bearer call, as the proxy reports it. */
const INPUT: AuditInput = {
  event: 'proxy.request.completed',
  appId: 'app_531c758b545a7cf00367e772',
  outcome: 'success',
  actor: { keyPrefix: 'lk_app_Xdvro', caller: null, agentId: null },
  principalType: 'system',
  appUserId: null,
  grantId: '35cc2b17-733e-4f66-8ba6-5ffd7fc62619',
  grantKind: 'managed_secret',
  managedSecretId: 'ms_add967ab3daf31bf189e2954',
  providerId: null,
  method: 'GET',
  url: 'http://127.0.0.1:34963/v1/balance',
  statusCode: 200,
  latencyMs: 3,
  errorCode: null,
  reason: null,
  context: null,
  trace: { runId: null, threadId: null, tool: null, role: null },
  details: { front_door: 'forward' },
};

async function measure(pageSize: number, batch: number): Promise<string> {
  const dir = mkdtempSync(path.join(tmpdir(), 'lk-pages-'));
  const file = path.join(dir, 'latchkey.db');
  try {
    // The page size of a database is fixed by its first write: create it before the store opens it.
    const pre = new SQLite(file);
    pre.pragma(`page_size = ${pageSize}`);
    pre.pragma('journal_mode = WAL');
    pre.close();
    const store = openStore(`sqlite:${file}`);
    await migrateToLatest(store.db);
    await store.close();

    const db = new SQLite(file);
    db.pragma('synchronous = NORMAL');
    db.pragma('wal_autocheckpoint = 1000');
    const stmt = db.prepare(
      `INSERT INTO audit_events (${ROW_COLUMNS.join(', ')}) VALUES (${ROW_COLUMNS.map(() => '?').join(', ')})`,
    );
    const insertAll = db.transaction((rows: unknown[][]) => {
      for (const r of rows) stmt.run(r);
    });
    // Rows are built before the clock starts: only the insert thread's work is measured.
    const batches: unknown[][][] = [];
    let prev = GENESIS_HASH;
    for (let seq = 1; seq <= ROWS;) {
      const rows: unknown[][] = [];
      for (let k = 0; k < batch && seq <= ROWS; k++, seq++) {
        const ts = new Date().toISOString();
        const record = auditRecordJson(INPUT, 'r-bench', ts, seq);
        const hash = chainHash(prev, record);
        rows.push(auditRow(INPUT, 'r-bench', ts, seq, record, prev, hash));
        prev = hash;
      }
      batches.push(rows);
    }
    const cpu = process.cpuUsage();
    for (const rows of batches) insertAll.immediate(rows);
    const used = process.cpuUsage(cpu);
    const actual = db.pragma('page_size', { simple: true }) as number;
    db.close();
    const bytes = statSync(file).size;
    return `| ${actual} | ${batch} | ${((used.user + used.system) / ROWS).toFixed(1)} | ${(bytes / ROWS).toFixed(0)} |`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`${ROWS.toLocaleString('en-US')} audit rows per cell\n`);
console.log('| page size (bytes) | rows per commit | CPU µs per row | file bytes per row |');
console.log('| --- | --- | --- | --- |');
for (const batch of [14, 28]) {
  for (const pageSize of [4096, 8192, 16384]) console.log(await measure(pageSize, batch));
}
