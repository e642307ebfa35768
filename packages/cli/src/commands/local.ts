import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import {
  AlreadyInitializedError,
  buildApp,
  createLogger,
  dataDirHasInstall,
  generateKey,
  initializeIfEmpty,
  loadConfig,
  migrateToLatest,
  openStore,
  startServer,
  writeMasterKeyFile,
  type Config,
  type InitResult,
} from '@latchkey/server';
import { output, UsageError } from '../io.js';

/** Config from the environment plus `--data-dir`, `--host`, `--port` flags. */
export function configFrom(opts: { dataDir?: string; host?: string; port?: string }): Config {
  return loadConfig(process.env, {
    ...(opts.dataDir ? { LATCHKEY_DATA_DIR: opts.dataDir } : {}),
    ...(opts.host ? { LATCHKEY_HOST: opts.host } : {}),
    ...(opts.port ? { LATCHKEY_PORT: opts.port } : {}),
  });
}

function printInit(init: InitResult, dataDir: string, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify({ app_id: init.appId, app_key: init.appKey, base_url: init.baseUrl })}\n`);
  } else {
    process.stdout.write(
      [
        `Latchkey initialized in ${dataDir}`,
        `  app id:   ${init.appId}`,
        `  app key:  ${init.appKey}`,
        `  base url: ${init.baseUrl}`,
        '',
        'The app key is shown only this once: store it now (e.g. export LATCHKEY_API_KEY=…).',
        '',
      ].join('\n'),
    );
  }
  if (init.masterKeyCreated && init.masterKeyPath) {
    process.stderr.write(
      `WARNING: a master key was generated at ${init.masterKeyPath} (mode 0600). Anyone with this file and the\n` +
        'database can decrypt every stored credential. Move it into a secret store and start Latchkey with\n' +
        'LATCHKEY_MASTER_KEY_FILE (or LATCHKEY_MASTER_KEY) pointing at it.\n',
    );
  }
}

/** Registers `init`, `serve`, `migrate` and `keyring rotate-root`: commands that run the server code locally. */
export function registerLocalCommands(program: Command): void {
  program
    .command('init')
    .description('Create the data dir, database, master key and default app; print the first app key once')
    .option('--data-dir <dir>', 'data directory (default ./.latchkey or LATCHKEY_DATA_DIR)')
    .option('--json', 'print {"app_id","app_key","base_url"}')
    .action(async (opts: { dataDir?: string; json?: boolean }) => {
      const config = configFrom(opts);
      if (dataDirHasInstall(config))
        throw new AlreadyInitializedError(`${config.dataDir} is already initialized; refusing to touch it.`);
      const lk = await buildApp(config, { logger: createLogger({ logLevel: 'warn' }) });
      try {
        const init = await initializeIfEmpty(lk);
        if (!init)
          throw new AlreadyInitializedError('The database already has an app; refusing to initialize it again.');
        printInit(init, config.dataDir, Boolean(opts.json));
      } finally {
        await lk.close();
      }
    });

  program
    .command('serve')
    .description('Run the server (initializes an empty data dir on first start)')
    .option('--data-dir <dir>', 'data directory')
    .option('--host <host>', 'listen address (default 127.0.0.1)')
    .option('--port <port>', 'listen port (default 7070)')
    .option('--json', 'print the first-start result as JSON')
    .action(async (opts: { dataDir?: string; host?: string; port?: string; json?: boolean }) => {
      const config = configFrom(opts);
      // Signal handlers go in before anything is printed, so a SIGTERM right after "listening" drains.
      const running: { server?: Awaited<ReturnType<typeof startServer>> } = {};
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        process.stderr.write(`${signal}: draining and shutting down\n`);
        const force = setTimeout(() => process.exit(1), 15_000);
        force.unref();
        (running.server ? running.server.close() : Promise.resolve()).then(
          () => process.exit(0),
          (err: unknown) => {
            process.stderr.write(`shutdown failed: ${(err as Error)?.message ?? String(err)}\n`);
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
      const server = await startServer(config);
      running.server = server;
      if (stopping) {
        await server.close();
        process.exit(0);
      }
      if (server.init) printInit(server.init, config.dataDir, Boolean(opts.json));
      // LATCHKEY_RUNTIME is set by bin/latchkey.mjs: the compiled build or the TypeScript sources.
      const runtime = process.env['LATCHKEY_RUNTIME'] === 'compiled' ? 'compiled build' : 'TypeScript sources';
      process.stderr.write(`Latchkey listening on ${server.url} (${runtime})\n`);
    });

  program
    .command('migrate')
    .description('Apply pending database migrations and exit')
    .option('--data-dir <dir>', 'data directory')
    .option('--json', 'JSON output')
    .action(async (opts: { dataDir?: string; json?: boolean }) => {
      const config = configFrom(opts);
      const store = openStore(config.databaseUrl);
      try {
        const applied = await migrateToLatest(store.db);
        output(opts, { applied }, () =>
          applied.length ? `Applied: ${applied.join(', ')}` : 'Database is up to date.',
        );
      } finally {
        await store.close();
      }
    });

  const keyring = program.command('keyring').description('Manage the root key');
  keyring
    .command('rotate-root')
    .description('Generate a new root key and re-wrap every app KEK under it')
    .option('--data-dir <dir>', 'data directory')
    .option('--new-key-file <file>', 'where to write the new key (required when the key comes from the environment)')
    .option('--json', 'JSON output')
    .action(async (opts: { dataDir?: string; newKeyFile?: string; json?: boolean }) => {
      const config = configFrom(opts);
      const fromDataDir = !config.masterKey && !config.masterKeyFile;
      const target = opts.newKeyFile ?? (fromDataDir ? path.join(config.dataDir, 'master.key') : undefined);
      if (!target)
        throw new UsageError('The root key comes from the environment: give --new-key-file to write the new key to.');
      if (opts.newKeyFile && fs.existsSync(opts.newKeyFile)) throw new UsageError(`${opts.newKeyFile} already exists.`);
      const lk = await buildApp(config, { logger: createLogger({ logLevel: 'warn' }) });
      try {
        const newKey = generateKey();
        // Write the new key beside the old one first: if the process dies after the database commit,
        // the server finds master.key.next and completes the switch at start.
        const staging = fromDataDir && !opts.newKeyFile ? `${target}.next` : target;
        writeMasterKeyFile(staging, newKey);
        const count = await lk.services.keyring.rotateRoot(newKey);
        if (staging !== target) fs.renameSync(staging, target);
        await lk.services.audit.record({
          event: 'keyring.root_rotated',
          appId: null,
          outcome: 'success',
          actor: { keyPrefix: null, caller: 'cli' },
          details: { rewrapped: count, root_key_id: lk.services.keyring.rootKeyId },
        });
        output(opts, { rewrapped_keks: count, root_key_id: lk.services.keyring.rootKeyId, key_file: target }, () =>
          [
            `Re-wrapped ${count} app KEK(s) under the new root key ${lk.services.keyring.rootKeyId}.`,
            `New key file: ${target}`,
            fromDataDir && !opts.newKeyFile
              ? 'Restart running servers to load it.'
              : 'Point LATCHKEY_MASTER_KEY_FILE at the new file and restart the servers; then destroy the old key.',
          ].join('\n'),
        );
      } finally {
        await lk.close();
      }
    });
}
