import fs from 'node:fs';
import path from 'node:path';
import type { Latchkey } from './app.js';
import type { Config } from './config/load.js';

/** What first-time initialization created: the default app and its first key (shown once). */
export interface InitResult {
  appId: string;
  appKey: string;
  baseUrl: string;
  masterKeyPath: string | undefined;
  masterKeyCreated: boolean;
}

/** Thrown by `latchkey init` on a data dir that already holds a Latchkey installation. */
export class AlreadyInitializedError extends Error {
  override readonly name = 'AlreadyInitializedError';
}

/**
 * Whether `dataDir` already holds an installation (a master key file or a database file).
 * Used before opening anything, so `latchkey init` never touches an existing install.
 */
export function dataDirHasInstall(config: Pick<Config, 'dataDir' | 'databaseUrl'>): boolean {
  if (fs.existsSync(path.join(config.dataDir, 'master.key'))) return true;
  if (config.databaseUrl.startsWith('sqlite:')) {
    const file = config.databaseUrl.slice('sqlite:'.length);
    if (file !== ':memory:' && fs.existsSync(file) && fs.statSync(file).size > 0) return true;
  }
  return false;
}

/** The base URL a client should use for this config. */
export function baseUrlOf(config: Pick<Config, 'publicUrl' | 'host' | 'port'>, port?: number): string {
  if (config.publicUrl) return config.publicUrl.replace(/\/$/, '');
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  return `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port ?? config.port}`;
}

/**
 * Creates the default app and mints its first app key (scope `*`) if the database has no app.
 *
 * @returns the result, or undefined when the database was already initialized.
 */
export async function initializeIfEmpty(lk: Latchkey, port?: number): Promise<InitResult | undefined> {
  const { apps, keys } = lk.services;
  if ((await apps.countApps()) > 0) return undefined;
  const app = await apps.createApp('default');
  await lk.services.audit.record({
    event: 'app.created',
    appId: app.id,
    outcome: 'success',
    actor: { keyPrefix: null, caller: 'bootstrap' },
  });
  const { apiKey } = await keys.mint(
    app.id,
    { name: 'first app key', scopes: ['*'], signed_only: false },
    { keyPrefix: null, caller: 'bootstrap' },
  );
  return {
    appId: app.id,
    appKey: apiKey,
    baseUrl: baseUrlOf(lk.config, port),
    masterKeyPath: lk.masterKey.path,
    masterKeyCreated: lk.masterKey.created,
  };
}
