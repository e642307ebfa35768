/**
 * A start that fails after the store is open (a wrong master key, found once the database is read;
 * a port already taken, found once the app is built) closes what it had opened: the read thread,
 * both audit threads and the database. An application embedding Latchkey that retries keeps nothing
 * of the failed start.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, test } from 'vitest';
import { buildApp, createLogger, loadConfig, startServer as startLatchkey } from '../src/index.js';
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

test.skipIf(process.platform !== 'linux')(
  'a port already taken fails the start once the app is built, and leaves no thread or open database behind',
  async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'latchkey-port-'));
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const taken = (blocker.address() as { port: number }).port;
    try {
      const config = loadConfig({
        LATCHKEY_DATA_DIR: dataDir,
        LATCHKEY_HOST: '127.0.0.1',
        LATCHKEY_PORT: String(taken),
        LATCHKEY_LOG_LEVEL: 'silent',
      });
      const baseline = threads();
      for (let attempt = 0; attempt < 3; attempt++) {
        await expect(startLatchkey(config)).rejects.toMatchObject({ code: 'EADDRINUSE' });
        expect(await settle(baseline)).toBe(baseline);
        expect(openFiles(dataDir)).toBe(0);
      }
      // Once the port is free, the same data dir starts and serves on it.
      await new Promise<void>((resolve, reject) => blocker.close((err) => (err ? reject(err) : resolve())));
      const running = await startLatchkey(config);
      try {
        expect(running.port).toBe(taken);
        expect(threads()).toBeGreaterThanOrEqual(baseline + 3);
        const res = await fetch(`${running.url}/healthz`);
        expect(res.status).toBe(200);
      } finally {
        await running.close();
      }
      expect(await settle(baseline)).toBe(baseline);
      expect(openFiles(dataDir)).toBe(0);
    } finally {
      if (blocker.listening) blocker.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  },
);
