/**
 * A start that fails after the store is open (here: a wrong master key, found once the database is
 * read) closes what it had opened: the read thread, both audit threads and the database. An
 * application embedding Latchkey that retries with the right key keeps nothing of the failed start.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readlinkSync, rmSync } from 'node:fs';
import { expect, test } from 'vitest';
import { buildApp, createLogger, loadConfig } from '../src/index.js';
import { startServer } from './helpers/server.js';

/** OS threads of this process (worker threads each run on their own). */
const threads = () => readdirSync('/proc/self/task').length;

/** Open file descriptors of this process on the files of `dataDir` (database, WAL, shared memory). */
function openFiles(dataDir: string): number {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).startsWith(`${dataDir}/`)) n++;
    } catch {
      // Closed meanwhile (the readdir's own descriptor).
    }
  }
  return n;
}

async function settle(expected: number): Promise<number> {
  for (let i = 0; i < 150 && threads() !== expected; i++) await new Promise((r) => setTimeout(r, 20));
  return threads();
}

test.skipIf(process.platform !== 'linux')(
  'a wrong master key fails the start and leaves no thread or open database behind',
  async () => {
    const first = await startServer({ LATCHKEY_DATABASE_URL: '' });
    expect(first.dialect).toBe('sqlite');
    const dataDir = first.dataDir;
    await first.close();
    try {
      const env = { LATCHKEY_DATA_DIR: dataDir, LATCHKEY_PORT: '0', LATCHKEY_LOG_LEVEL: 'silent' };
      // A start with the right key runs the three threads (read, audit insert, audit checkpoint).
      const baseline = threads();
      expect(openFiles(dataDir)).toBe(0);
      const ok = await buildApp(loadConfig(env));
      expect(threads()).toBeGreaterThanOrEqual(baseline + 3);
      expect(openFiles(dataDir)).toBeGreaterThan(0);
      await ok.close();
      expect(await settle(baseline)).toBe(baseline);
      expect(openFiles(dataDir)).toBe(0);

      const wrong = loadConfig({ ...env, LATCHKEY_MASTER_KEY: randomBytes(32).toString('hex') });
      for (let attempt = 0; attempt < 3; attempt++) {
        await expect(buildApp(wrong, { logger: createLogger(wrong) })).rejects.toMatchObject({ reason: 'wrong_key' });
        expect(await settle(baseline)).toBe(baseline);
        expect(openFiles(dataDir)).toBe(0);
      }
      // The database was closed, not left open: the right key starts again and serves.
      const again = await buildApp(loadConfig(env));
      const res = await again.app.inject({ method: 'GET', url: '/healthz' });
      expect(res.statusCode).toBe(200);
      await again.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  },
);
