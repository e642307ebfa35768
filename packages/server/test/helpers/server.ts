import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { buildApp, createLogger, initializeIfEmpty, loadConfig, type Latchkey } from '../../src/index.js';

/** A running test server on a real socket, with captured log lines. */
export interface TestServer {
  lk: Latchkey;
  baseUrl: string;
  appKey: string;
  appId: string;
  dataDir: string;
  logs: string[];
  close(): Promise<void>;
}

/** Starts Latchkey on 127.0.0.1 with a fresh data dir (SQLite), loopback upstreams allowed. */
export async function startServer(env: Record<string, string> = {}): Promise<TestServer> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'latchkey-test-'));
  const config = loadConfig({
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
    async close() {
      await lk.close();
    },
  };
}
