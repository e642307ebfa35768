import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { buildApp, createLogger, initializeIfEmpty, loadConfig, type Latchkey } from '../../src/index.js';
import { createTestDatabase } from './postgres.js';

/** The dialect the server suites run on in this test project (`LATCHKEY_TEST_DIALECT`, default sqlite). */
export function testDialect(): 'sqlite' | 'postgres' {
  return process.env.LATCHKEY_TEST_DIALECT === 'postgres' ? 'postgres' : 'sqlite';
}

/** A running test server on a real socket, with captured log lines. */
export interface TestServer {
  lk: Latchkey;
  baseUrl: string;
  appKey: string;
  appId: string;
  dataDir: string;
  logs: string[];
  dialect: 'sqlite' | 'postgres';
  close(): Promise<void>;
}

/** Starts Latchkey on 127.0.0.1 with a fresh data dir (SQLite), loopback upstreams allowed. */
export async function startServer(env: Record<string, string> = {}): Promise<TestServer> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'latchkey-test-'));
  // The `postgres` test project runs the same suites against a fresh PostgreSQL database per server.
  const pgDb = testDialect() === 'postgres' && !env.LATCHKEY_DATABASE_URL ? await createTestDatabase() : undefined;
  const config = loadConfig({
    ...(pgDb
      ? { LATCHKEY_DATABASE_URL: pgDb.url, LATCHKEY_DATABASE_POOL_SIZE: String(Math.min(5, pgDb.maxConnections)) }
      : {}),
    LATCHKEY_DATA_DIR: dataDir,
    LATCHKEY_PORT: '0',
    LATCHKEY_EGRESS_ALLOW_CIDRS: '127.0.0.0/8',
    LATCHKEY_LOG_LEVEL: 'debug',
    ...env,
  });
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logs.push(String(chunk));
      cb();
    },
  });
  const logger = createLogger(config, sink);
  const lk = await buildApp(config, { logger });
  await lk.app.listen({ host: '127.0.0.1', port: 0 });
  const addr = lk.app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  const init = await initializeIfEmpty(lk, port);
  if (!init) throw new Error('expected a fresh install');
  return {
    lk,
    baseUrl: `http://127.0.0.1:${port}`,
    appKey: init.appKey,
    appId: init.appId,
    dataDir,
    logs,
    dialect: lk.store.dialect,
    async close() {
      await lk.close();
      await pgDb?.drop();
    },
  };
}
