import { buildApp, type Latchkey } from './app.js';
import { initializeIfEmpty, type InitResult } from './bootstrap.js';
import type { Config } from './config/load.js';
import { boundHeapGrowth } from './heap.js';

/** A listening server. */
export interface RunningServer {
  readonly lk: Latchkey;
  readonly port: number;
  readonly url: string;
  /** Set when this start initialized an empty data dir (the app key is shown once). */
  readonly init: InitResult | undefined;
  close(): Promise<void>;
}

/**
 * Loads nothing itself: bounds the heap's growth ({@link boundHeapGrowth}), builds the app from
 * `config`, listens, initializes an empty database. A failure after the app is built (the port is
 * taken, the first start's initialization fails) closes the app before it is thrown: its database,
 * worker threads and sockets, so an embedding process that retries keeps nothing of the failed start.
 *
 * @throws MasterKeyError, a migration error, or a listen error (`EADDRINUSE`).
 */
export async function startServer(config: Config): Promise<RunningServer> {
  boundHeapGrowth();
  const lk = await buildApp(config);
  let port: number;
  let init: InitResult | undefined;
  try {
    await lk.app.listen({ host: config.host, port: config.port });
    const addr = lk.app.server.address();
    port = typeof addr === 'object' && addr ? addr.port : config.port;
    init = await initializeIfEmpty(lk, port);
  } catch (err) {
    await lk.close();
    throw err;
  }
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  return { lk, port, url: `http://${host}:${port}`, init, close: () => lk.close() };
}
