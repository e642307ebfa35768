import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { openStore, type Store } from './database.js';
import { migrateToLatest } from './migrate.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0)) await c();
});

/** Another process that holds the SQLite write lock for `ms`, as the audit insert thread does while it commits. */
async function holdWriteLock(file: string, ms: number): Promise<{ released: Promise<void> }> {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const child = spawn(
    process.execPath,
    [
      '-e',
      `const db = new (require(${JSON.stringify(driver)}))(${JSON.stringify(file)});
       db.exec('BEGIN IMMEDIATE'); process.stdout.write('locked\\n');
       setTimeout(() => { db.exec('COMMIT'); db.close(); }, ${ms});`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => d.toString().includes('locked') && resolve());
    child.once('exit', (code) => reject(new Error(`lock holder exited ${code}`)));
  });
  // Wrapped: an async function returning a bare promise would be awaited through to the exit.
  return { released: new Promise((resolve) => child.once('exit', () => resolve())) };
}

test('a SQLite transaction that reads before it writes waits for another writer instead of failing with SQLITE_BUSY', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'lk-store-'));
  const file = path.join(dir, 'db.sqlite');
  const store: Store = openStore(`sqlite:${file}`);
  cleanup.push(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  await migrateToLatest(store.db);
  await store.db
    .insertInto('apps')
    .values({ id: 'app_1', name: 'a', kek_version: 1, fingerprint_key_wrapped: 'x', created_at: 't' })
    .execute();
  const { released } = await holdWriteLock(file, 300);
  const started = Date.now();
  await store.db.transaction().execute(async (tx) => {
    // Read first (a deferred transaction would now hold a read snapshot), then write.
    const app = await tx.selectFrom('apps').select('name').where('id', '=', 'app_1').executeTakeFirstOrThrow();
    await tx
      .updateTable('apps')
      .set({ name: `${app.name}-renamed` })
      .where('id', '=', 'app_1')
      .execute();
  });
  expect(Date.now() - started).toBeGreaterThanOrEqual(200);
  await released;
  const after = await store.db.selectFrom('apps').select('name').where('id', '=', 'app_1').executeTakeFirstOrThrow();
  expect(after.name).toBe('a-renamed');
});
