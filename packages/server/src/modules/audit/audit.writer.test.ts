import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, expect, test } from 'vitest';
import { openStore, type Store } from '../../store/database.js';
import { migrateToLatest } from '../../store/migrate.js';
import { chainHash, GENESIS_HASH } from './audit.fns.js';
import { auditRecordJson } from './audit.record.js';
import { createAuditService } from './audit.service.js';
import type { AuditInput } from './audit.types.js';
import { AuditWriter } from './audit.writer.js';

const open: { store: Store; writer: AuditWriter; dir?: string }[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) {
    await o.writer.close();
    await o.store.close();
    if (o.dir) rmSync(o.dir, { recursive: true, force: true });
  }
});

async function setup(file: 'file' | 'memory', opts: { batchesInFlight?: number } = {}) {
  const dir = file === 'file' ? mkdtempSync(path.join(tmpdir(), 'lk-audit-')) : undefined;
  const store = openStore(dir ? `sqlite:${path.join(dir, 'a.db')}` : 'sqlite::memory:');
  await migrateToLatest(store.db);
  const writer = new AuditWriter(store.db, 'r-test', pino({ level: 'silent' }), store.sqlite);
  await writer.init(60_000, opts);
  open.push({ store, writer, dir });
  return { store, writer };
}

const event = (n: number): AuditInput => ({
  event: 'proxy.request.completed',
  appId: 'app_1',
  outcome: 'success',
  actor: { keyPrefix: 'lk_app_abcde' },
  grantId: `g-${n}`,
  statusCode: 200,
  latencyMs: n,
});

async function chainOf(store: Store) {
  return store.db
    .selectFrom('audit_events')
    .select(['chain_seq', 'record', 'prev_hash', 'hash', 'grant_id'])
    .where('replica_id', '=', 'r-test')
    .orderBy('chain_seq')
    .execute();
}

function expectChain(rows: Awaited<ReturnType<typeof chainOf>>, n: number) {
  expect(rows.map((r) => Number(r.chain_seq))).toEqual(Array.from({ length: n }, (_, k) => k + 1));
  let prev = GENESIS_HASH;
  for (const r of rows) {
    expect(r.prev_hash).toBe(prev);
    expect(r.hash).toBe(chainHash(prev, r.record));
    prev = r.hash;
  }
}

test('a file database commits on the insert thread; committed rows are readable at once and chain', async () => {
  const { store, writer } = await setup('file');
  expect(writer.usesInsertThread).toBe(true);
  await Promise.all(Array.from({ length: 50 }, (_, k) => writer.append(event(k))));
  const rows = await chainOf(store);
  expectChain(rows, 50);
  expect(new Set(rows.map((r) => r.grant_id)).size).toBe(50);
});

/** An event with every optional member set, including map keys that are special to JavaScript. */
const fullEvent = (n: number): AuditInput => ({
  ...event(n),
  actor: { keyPrefix: 'lk_agent_abc', caller: 'agent', agentId: `agent-${n}` },
  principalType: 'user',
  appUserId: `user-${n}`,
  grantKind: 'user',
  managedSecretId: `s-${n}`,
  providerId: 'github',
  method: 'POST',
  url: 'https://api.example.com/v1/x?q=[REDACTED]',
  errorCode: null,
  reason: 'r\u00e9sum\u00e9 "quoted" \n',
  context: JSON.parse('{"__proto__":"p","constructor":"c","10":"ten","b":"\\u2028"}') as Record<string, string>,
  trace: { runId: `run-${n}`, threadId: 't', tool: 'search', role: 'assistant' },
  details: { front_door: 'forward', count: n, ok: true, none: null },
});

test('thread batches and inline commits extend one chain, and the thread writes the records the event loop would', async () => {
  const { store, writer } = await setup('file');
  expect(writer.usesInsertThread).toBe(true);
  const events: AuditInput[] = [];
  const append = (e: AuditInput) => (events.push(e), writer.append(e));
  // 10 rows in one tick go to the insert thread, 1 row alone commits inline, then the thread again:
  // the thread must chain onto the inline row, not onto its own last batch.
  await Promise.all(Array.from({ length: 10 }, (_, k) => append(fullEvent(k))));
  await append(event(10));
  await Promise.all(Array.from({ length: 10 }, (_, k) => append(fullEvent(11 + k))));
  const rows = await store.db
    .selectFrom('audit_events')
    .select(['chain_seq', 'ts', 'record'])
    .where('replica_id', '=', 'r-test')
    .orderBy('chain_seq')
    .execute();
  expectChain(await chainOf(store), 21);
  // verify() also checks the indexed columns against the hashed record.
  expect(await createAuditService({ db: store.db, writer, mode: 'sync' }).verify()).toMatchObject({ ok: true });
  expect(rows.map((r) => r.record)).toEqual(
    rows.map((r, k) => auditRecordJson(events[k]!, 'r-test', r.ts, Number(r.chain_seq))),
  );
});

test('with two batches in flight, a batch sent while the thread still commits the previous one chains onto it', async () => {
  const { store, writer } = await setup('file', { batchesInFlight: 2 });
  // The first batch commits slowly, so the second is sent before the first answers: it goes without
  // a head, and the thread extends its own.
  const { first, second } = await slowBatchThenAnother(store, writer, false);
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  // Sent, not waiting on this thread.
  expect(writer.queueDepth).toBe(0);
  await Promise.all([...first, ...second]);
  expectChain(await chainOf(store), 16);
  expect(writer.healthy).toBe(true);
});

test('a batch that cannot cross to the insert thread fails alone; the next one chains onto the committed head', async () => {
  const { store, writer } = await setup('file');
  await writer.append(event(1));
  // Outside the AuditInput type: a function cannot be cloned to the thread.
  const bad = { ...event(2), details: { f: (() => 1) as unknown as string } };
  const batch = [writer.append(bad), ...Array.from({ length: 7 }, (_, k) => writer.append(event(3 + k)))];
  const outcomes = await Promise.allSettled(batch);
  expect(outcomes.every((o) => o.status === 'rejected')).toBe(true);
  expect(writer.healthy).toBe(false);
  await Promise.all(Array.from({ length: 8 }, (_, k) => writer.append(event(20 + k))));
  expect(writer.healthy).toBe(true);
  const rows = await chainOf(store);
  expectChain(rows, 9);
  expect(rows.map((r) => r.grant_id)).toEqual(['g-1', ...Array.from({ length: 8 }, (_, k) => `g-${20 + k}`)]);
});

test('an in-memory database commits on the main thread', async () => {
  const { store, writer } = await setup('memory');
  expect(writer.usesInsertThread).toBe(false);
  await Promise.all([writer.append(event(1)), writer.append(event(2))]);
  expectChain(await chainOf(store), 2);
});

test('a failed commit rejects its batch and marks the writer unhealthy; the chain resumes from the committed head', async () => {
  const { store, writer } = await setup('file');
  await writer.append(event(1));
  store.sqlite!.exec(
    "CREATE TRIGGER block_audit BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'blocked'); END",
  );
  await expect(writer.append(event(2))).rejects.toThrow(/blocked/);
  expect(writer.healthy).toBe(false);
  store.sqlite!.exec('DROP TRIGGER block_audit');
  await writer.append(event(3));
  expect(writer.healthy).toBe(true);
  const rows = await chainOf(store);
  expectChain(rows, 2);
  expect(rows.map((r) => r.grant_id)).toEqual(['g-1', 'g-3']);
});

/**
 * Appends a batch of 8 whose fifth row commits slowly (a trigger runs a long recursive count) and,
 * with `fails`, then aborts; then, while that batch is still committing, a second batch of 8
 * (`g-100` … `g-107`).
 */
async function slowBatchThenAnother(store: Store, writer: AuditWriter, fails: boolean) {
  const count =
    'FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000000) SELECT count(*) FROM c)';
  const body = fails ? `SELECT RAISE(ABORT, 'poisoned') ${count}` : `SELECT 1 ${count}`;
  store.sqlite!.exec(
    `CREATE TRIGGER slow BEFORE INSERT ON audit_events WHEN NEW.grant_id = 'g-slow' BEGIN ${body}; END`,
  );
  const first = Array.from({ length: 8 }, (_, k) =>
    writer.append(k === 4 ? { ...event(k), grantId: 'g-slow' } : event(k)),
  );
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  const second = Array.from({ length: 8 }, (_, k) => writer.append(event(100 + k)));
  return { first, second };
}

test('a batch queued behind a failed one on the insert thread is refused, so the chain never skips rows', async () => {
  // Two batches in flight: the second is queued on the thread while the first fails.
  const { store, writer } = await setup('file', { batchesInFlight: 2 });
  const { first, second } = await slowBatchThenAnother(store, writer, true);
  const outcomes = await Promise.allSettled([...first, ...second]);
  // Every row of both batches is refused: the second chained onto rows that were never written.
  expect(outcomes.map((o) => (o.status === 'rejected' ? (o.reason as Error).message : 'ok'))).toEqual([
    ...Array(8).fill('poisoned'),
    ...Array(8).fill('an earlier batch failed'),
  ]);
  // Neither batch committed, so neither is counted.
  expect(writer.commits).toEqual({ inline: 0, thread: 0 });
  expect(writer.healthy).toBe(false);
  await writer.append(event(200));
  expect(writer.healthy).toBe(true);
  const rows = await chainOf(store);
  expectChain(rows, 1);
  expect(rows[0]!.grant_id).toBe('g-200');
});

test('by default one batch is in flight: rows appended while a batch fails wait, then chain onto the committed head', async () => {
  const { store, writer } = await setup('file');
  const { first, second } = await slowBatchThenAnother(store, writer, true);
  // The first batch is still committing: the second waits on this thread, not on the insert thread.
  await new Promise((r) => setImmediate(r));
  expect(writer.queueDepth).toBe(8);
  const outcomes = await Promise.allSettled([...first, ...second]);
  expect(outcomes.map((o) => (o.status === 'rejected' ? (o.reason as Error).message : 'ok'))).toEqual([
    ...Array(8).fill('poisoned'),
    ...Array(8).fill('ok'),
  ]);
  // Only the batch that committed is counted (8 rows: on the insert thread).
  expect(writer.commits).toEqual({ inline: 0, thread: 1 });
  expect(writer.healthy).toBe(true);
  const rows = await chainOf(store);
  expectChain(rows, 8);
  expect(rows.map((r) => r.grant_id)).toEqual(Array.from({ length: 8 }, (_, k) => `g-${100 + k}`));
});

test('under sustained load the WAL stays bounded: checkpoints complete and the log restarts', async () => {
  const { store, writer } = await setup('file');
  const wal = `${store.sqlite!.name}-wal`;
  // Without a checkpoint that completes between commits the log reached 62 MB here (4 MB with one).
  for (let round = 0; round < 400; round++) {
    await Promise.all(Array.from({ length: 60 }, (_, k) => writer.append(event(round * 100 + k))));
  }
  // The path under test: each round's 60 rows went to the insert thread as one batch.
  expect(writer.commits).toEqual({ inline: 0, thread: 400 });
  expect((await chainOf(store)).length).toBe(24_000);
  expect(statSync(wal).size).toBeLessThan(24 * 1024 * 1024);
});

test('under back-to-back inline commits (one caller) the WAL stays bounded: the committing connection checkpoints past 16 MiB', async () => {
  const { store, writer } = await setup('file');
  const wal = `${store.sqlite!.name}-wal`;
  // One row at a time commits inline on the event loop. Every PASSIVE checkpoint of the checkpoint
  // thread overlaps a commit, so the log never restarts unless the committing connection checkpoints
  // itself: with automatic checkpoints off there, it reached 282 MB here (21.7 MB with them).
  let largest = 0;
  for (let k = 0; k < 15_000; k++) {
    await writer.append(event(k));
    if (k % 100 === 0) largest = Math.max(largest, statSync(wal).size);
  }
  expect(writer.usesInsertThread).toBe(true);
  // The path under test: every one of these commits ran on this connection, none on the thread.
  expect(writer.commits).toEqual({ inline: 15_000, thread: 0 });
  expectChain(await chainOf(store), 15_000);
  expect(largest).toBeLessThan(48 * 1024 * 1024);
});

test.skipIf(process.platform !== 'linux')(
  'threads that cannot open the database fail their start: init logs it and commits inline, leaving no thread behind',
  async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'lk-audit-'));
    const store = openStore(`sqlite:${path.join(dir, 'a.db')}`);
    await migrateToLatest(store.db);
    // The threads open the file by the handle's name: here the directory itself, which SQLite cannot
    // open as a database (SQLITE_CANTOPEN); the event loop's own connection is the real one.
    const sqlite = store.sqlite!;
    const elsewhere = new Proxy(sqlite, {
      get: (t, k) => (k === 'name' ? dir : ((v) => (typeof v === 'function' ? v.bind(t) : v))(Reflect.get(t, k))),
    });
    const tasks = () => readdirSync('/proc/self/task').length;
    const before = tasks();
    const lines: string[] = [];
    const log = pino({ level: 'warn' }, { write: (l: string) => void lines.push(l) });
    const writer = new AuditWriter(store.db, 'r-test', log, elsewhere);
    await writer.init(60_000);
    open.push({ store, writer, dir });
    // Decided by the time init resolves, not when a thread dies later.
    expect(writer.usesInsertThread).toBe(false);
    expect(lines.map((l) => JSON.parse(l))).toMatchObject([
      { msg: 'audit threads did not start; writing inline', err: { code: 'SQLITE_CANTOPEN' } },
    ]);
    await Promise.all(Array.from({ length: 10 }, (_, k) => writer.append(event(k))));
    expectChain(await chainOf(store), 10);
    // The insert thread that failed has exited before its start failed (the checkpoint thread never
    // started).
    expect(tasks()).toBe(before);
  },
);
