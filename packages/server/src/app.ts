import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import pino, { type Logger } from 'pino';
import { loadCatalog } from '@latchkey/providers';
import type { Config } from './config/load.js';
import { createCoordinator } from './coordination/index.js';
import { keyId } from './crypto/envelope.js';
import { MasterKeyError } from './crypto/errors.js';
import { loadOrCreateMasterKey, parseMasterKey } from './crypto/master-key.js';
import { LatchkeyError } from './errors.js';
import { createAuthenticator } from './http/authenticate.js';
import { clientErrorHandler, installErrorHandlers } from './http/error-handler.js';
import { lazyChildLoggerFactory } from './http/request-logger.js';
import { agentsRoutes, createAgentsService, type AgentsService } from './modules/agents/index.js';
import { createAppsService } from './modules/apps/apps.service.js';
import { createDelegationsService, delegationsRoutes, type DelegationsService } from './modules/delegations/index.js';
import { auditRoutes } from './modules/audit/audit.routes.js';
import { createAuditService } from './modules/audit/audit.service.js';
import { AuditWriter } from './modules/audit/audit.writer.js';
import { grantsRoutes } from './modules/grants/grants.routes.js';
import { createGrantsService, type GrantsService } from './modules/grants/grants.service.js';
import { createIdempotencyService } from './modules/idempotency/idempotency.service.js';
import {
  createIdentityService,
  createIdpFetch,
  identityRoutes,
  type IdentityService,
} from './modules/identity/index.js';
import { createKeyringService } from './modules/keyring/keyring.service.js';
import { keysRoutes } from './modules/keys/keys.routes.js';
import { createKeysService } from './modules/keys/keys.service.js';
import { createEgressAgent, createEgressPolicy } from './modules/proxy/egress.js';
import { gatewayRoutes } from './modules/proxy/gateway.routes.js';
import { proxyRoutes } from './modules/proxy/proxy.routes.js';
import { createProxyService } from './modules/proxy/proxy.service.js';
import { providersRoutes } from './modules/providers/providers.routes.js';
import { createProvidersService } from './modules/providers/providers.service.js';
import { secretsRoutes } from './modules/secrets/secrets.routes.js';
import { createSecretsService } from './modules/secrets/secrets.service.js';
import { systemRoutes } from './modules/system/system.routes.js';
import { openStore, type Store } from './store/database.js';
import { grantLookup, pointLookup, type LookupStore } from './store/point-lookup.js';
import { ReadThread } from './store/read-thread.js';
import { migrateToLatest } from './store/migrate.js';

/** Log paths that may carry secrets; pino replaces them with `[REDACTED]`. */
export const LOG_REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["proxy-authorization"]',
  'req.headers["x-api-key"]',
  'req.headers["api-key"]',
  'req.headers["x-goog-api-key"]',
  'req.headers["latchkey-user-token"]',
  'req.headers.signature',
  'headers.authorization',
  '*.value',
  '*.password',
  '*.api_key',
  '*.apiKey',
  '*.token',
  '*.user_token',
  '*.userToken',
  '*.secret',
];

/** Creates the server logger (pino, JSON, redacting secret-bearing paths). */
export function createLogger(config: Pick<Config, 'logLevel'>, destination?: pino.DestinationStream): Logger {
  return pino({ level: config.logLevel, redact: { paths: LOG_REDACT_PATHS, censor: '[REDACTED]' } }, destination);
}

/**
 * Makes sure the root key is the one that wrapped the stored KEKs. If a `keyring rotate-root` was
 * interrupted after its database commit, `master.key.next` holds the new key: the switch is completed.
 *
 * @throws MasterKeyError `wrong_key` when the key does not match the database.
 */
async function checkRootKey(
  db: Store['db'],
  dataDir: string,
  masterKey: ReturnType<typeof loadOrCreateMasterKey>,
): Promise<Buffer> {
  const ids = (await db.selectFrom('app_keks').select('root_key_id').distinct().execute()).map((r) => r.root_key_id);
  if (ids.length === 0 || (ids.length === 1 && ids[0] === keyId(masterKey.key))) return masterKey.key;
  const next = path.join(dataDir, 'master.key.next');
  if (masterKey.source === 'data_dir' && masterKey.path && fs.existsSync(next)) {
    const nextKey = parseMasterKey(fs.readFileSync(next, 'utf8'), 'master.key.next');
    if (ids.length === 1 && ids[0] === keyId(nextKey)) {
      fs.renameSync(next, masterKey.path);
      return nextKey;
    }
  }
  throw new MasterKeyError(
    'wrong_key',
    'The master key does not match the one that encrypted this database. Start Latchkey with the key used at `latchkey init` (or the last `keyring rotate-root`).',
  );
}

/** Everything a running server holds; `close()` drains the audit queue and closes pools. */
export interface Latchkey {
  readonly app: FastifyInstance;
  readonly config: Config;
  readonly store: Store;
  readonly services: {
    apps: ReturnType<typeof createAppsService>;
    keys: ReturnType<typeof createKeysService>;
    secrets: ReturnType<typeof createSecretsService>;
    grants: GrantsService;
    audit: ReturnType<typeof createAuditService>;
    keyring: ReturnType<typeof createKeyringService>;
    agents: AgentsService;
    identity: IdentityService;
    delegations: DelegationsService;
  };
  readonly masterKey: ReturnType<typeof loadOrCreateMasterKey>;
  close(): Promise<void>;
}

/**
 * Builds the server: opens the store and migrates it, loads (or creates) the master key, wires the
 * services and registers the routes. Does not listen.
 *
 * If a step fails (a wrong master key, a failed migration, …), what it had opened so far (store,
 * read and audit threads, Redis, egress agent, the Fastify instance) is closed before the error is
 * rethrown, so a process that embeds Latchkey keeps no thread or connection of a failed start.
 *
 * @param config validated configuration.
 * @param overrides optional `logger` (tests pass a capturing destination).
 * @throws MasterKeyError, or a migration error.
 */
export async function buildApp(config: Config, overrides: { logger?: Logger } = {}): Promise<Latchkey> {
  const log = overrides.logger ?? createLogger(config);
  fs.mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const masterKey = loadOrCreateMasterKey({
    dataDir: config.dataDir,
    envKey: config.masterKey,
    envKeyFile: config.masterKeyFile,
  });
  const store = openStore(config.databaseUrl, {
    poolSize: config.databasePoolSize,
    connectTimeoutMs: config.databaseConnectTimeoutMs,
    statementTimeoutMs: config.databaseStatementTimeoutMs,
  });
  // Closers of what is open so far, run in reverse order if a later step fails.
  const opened: (() => Promise<unknown>)[] = [() => store.close()];
  try {
    return await assemble(config, log, masterKey, store, opened);
  } catch (err) {
    for (const close of opened.reverse()) {
      await Promise.resolve()
        .then(close)
        .catch((closeErr: unknown) =>
          log.warn({ err: { code: (closeErr as { code?: string }).code } }, 'close after a failed start failed'),
        );
    }
    throw err;
  }
}

/**
 * The part of {@link buildApp} after the store is open: migrates, starts the threads, wires the
 * services and routes. Pushes a closer onto `opened` for each resource as soon as it is open.
 */
async function assemble(
  config: Config,
  log: Logger,
  masterKey: ReturnType<typeof loadOrCreateMasterKey>,
  store: Store,
  opened: (() => Promise<unknown>)[],
): Promise<Latchkey> {
  await migrateToLatest(store.db);
  const { db } = store;
  // A SQLite file's hot-path point reads (cache misses) run on a read thread, off the event loop;
  // on the event loop's own connection if the thread cannot start.
  const reader =
    store.sqlite && !store.sqlite.memory
      ? await ReadThread.start(store.sqlite.name, log.child({ component: 'store' })).catch((err: unknown) => {
          log.warn({ err: { code: (err as { code?: string }).code } }, 'read thread did not start; reading inline');
          return undefined;
        })
      : undefined;
  if (reader) opened.push(() => reader.close());
  const lookups: LookupStore = { ...store, reader };

  const replicaId = config.replicaId ?? `r-${randomBytes(6).toString('hex')}`;
  const writer = new AuditWriter(db, replicaId, log.child({ component: 'audit' }), store.sqlite);
  // Closing a writer whose init failed is harmless (it drains nothing and stops no thread).
  opened.push(() => writer.close());
  await writer.init();
  const audit = createAuditService({
    db,
    writer,
    mode: config.auditMode,
    onAsyncError: (_err, input) =>
      log.error(
        {
          event: input?.event,
          app_id: input?.appId,
          grant_id: input?.grantId,
          managed_secret_id: input?.managedSecretId,
        },
        'audit row could not be written',
      ),
  });
  const rootKey = await checkRootKey(db, config.dataDir, masterKey);
  const keyring = createKeyringService({ db, rootKey });
  const apps = createAppsService({ db, keyring });
  const coordinator = createCoordinator({
    redisUrl: config.redisUrl,
    prefix: config.redisKeyPrefix,
    ttls: { normalMs: config.cacheTtlMs, degradedMs: config.cacheDegradedTtlMs },
    log: log.child({ component: 'coordination' }),
  });
  opened.push(() => coordinator.close());
  const { bus } = coordinator;
  const cacheMax = config.cacheMaxEntries;
  const keys = createKeysService({
    db,
    keyring,
    audit,
    bus,
    cache: coordinator.cache('key', cacheMax),
    findById: pointLookup(lookups, 'api_keys'),
  });
  const agents = createAgentsService({
    db,
    audit,
    keys,
    idempotency: createIdempotencyService({ db }),
    bus,
    cache: coordinator.cache('agent', cacheMax),
    // Wired late: the delegations service is built below.
    revokeDelegations: (appId, agentId, actor) => delegations.revokeForAgent(appId, agentId, actor),
  });
  const catalog = loadCatalog();
  // secretMeta and probe are wired late: the secrets and proxy services are built below.
  const providers = createProvidersService({
    db,
    audit,
    catalog,
    secretMeta: (appId, id) => secrets.get(appId, id),
    probe: (auth, secretId, request) => proxy.probeSecret(auth, secretId, request),
  });
  const secrets = createSecretsService({
    db,
    keyring,
    audit,
    templates: providers.templates,
    revokeGrantsForSecret: (appId, secretId, reason, actor) =>
      grants.revokeAllForSecret(appId, secretId, reason, actor),
    bus,
    cache: coordinator.cache('secret', cacheMax),
    findLiveById: pointLookup(lookups, 'managed_secrets', 'deleted_at IS NULL'),
  });
  const grants: GrantsService = createGrantsService({
    db,
    audit,
    secretLookup: (appId, id) => secrets.get(appId, id),
    agentLookup: (appId, id) => agents.assertGrantable(appId, id),
    delegatedGrantIds: async (appId, agentId) =>
      (await delegations.listForAgent(appId, agentId)).map((d) => d.grant_id),
    // Wired late: the identity service is built below, once the egress dispatcher exists.
    identity: {
      providerRef: (appId) => identity.providerRef(appId),
      verifyUserToken: (appId, token) => identity.verifyUserToken(appId, token),
    },
    bus,
    cache: coordinator.cache('grant', cacheMax),
    findById: grantLookup(lookups),
    primeSecret: { mark: () => secrets.credentialMark(), prime: (row, mark) => secrets.primeCredential(row, mark) },
  });
  const authenticate = createAuthenticator({
    keys,
    agents,
    nonces: coordinator.nonces,
    rateLimiter: coordinator.rateLimiter,
    log,
  });
  const dispatcher = createEgressAgent(createEgressPolicy(config.egressAllowCidrs), {
    connectTimeoutMs: config.upstreamConnectTimeoutMs,
    headersTimeoutMs: config.upstreamHeadersTimeoutMs,
    bodyTimeoutMs: config.upstreamBodyTimeoutMs,
  });
  opened.push(() => dispatcher.close());
  // OIDC discovery and JWKS fetches go through the same egress guard as upstream calls.
  const identity = createIdentityService({
    db,
    audit,
    fetch: createIdpFetch({ dispatcher, httpHosts: config.egressAllowHttpHosts }),
    httpHosts: config.egressAllowHttpHosts,
    cache: coordinator.cache('identity', 10_000),
    users: coordinator.cache('identity', cacheMax),
    bus,
    jwks: { cooldownMs: config.idpJwksCooldownMs, cacheMaxAgeMs: config.idpJwksCacheMaxAgeMs },
    log: log.child({ component: 'identity' }),
  });
  const delegations = createDelegationsService({
    db,
    audit,
    grants,
    identity,
    agents,
    bus,
    cache: coordinator.cache('delegation', cacheMax),
  });
  const proxy = createProxyService({
    grants,
    delegations,
    identity,
    secrets,
    audit,
    dispatcher,
    httpHosts: config.egressAllowHttpHosts,
    maxBodyBytes: config.maxBodyBytes,
  });

  const requestIdPrefix = randomBytes(6).toString('hex');
  let requestCount = 0;
  const app: FastifyInstance = Fastify({
    loggerInstance: log as unknown as FastifyBaseLogger,
    bodyLimit: config.maxBodyBytes,
    // A random per-process prefix and a counter: unique across replicas, no CSPRNG call per request.
    genReqId: () => `req_${requestIdPrefix}${(++requestCount).toString(36)}`,
    requestIdHeader: false,
    trustProxy: false,
    // Per-request child loggers are built only when a request writes a line.
    childLoggerFactory: lazyChildLoggerFactory as unknown as FastifyServerOptions['childLoggerFactory'],
    clientErrorHandler,
  });
  opened.push(() => app.close());
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.addHook('onSend', async (request, reply) => {
    void reply.header('x-request-id', request.id);
  });
  // JSON bodies are kept as bytes too: signed requests are verified against their Content-Digest.
  const jsonParser = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    request.rawBody = body as Buffer;
    if ((body as Buffer).length === 0) {
      done(null, undefined);
      return;
    }
    jsonParser(request, (body as Buffer).toString('utf8'), (err, value) => {
      if (err)
        done(new LatchkeyError('invalid_request', { message: 'The request body is not valid JSON.' }), undefined);
      else done(null, value);
    });
  });
  installErrorHandlers(app);
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Latchkey API', version: '0.1.0', description: 'Credential vault and authorization proxy.' },
    },
    transform: jsonSchemaTransform,
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  const common = { authenticate, publicUrl: config.publicUrl };
  await app.register(
    systemRoutes({ db, auditHealthy: () => writer.healthy, redisStatus: () => coordinator.redisStatus(), replicaId }),
  );
  await app.register(keysRoutes({ keys, ...common }));
  await app.register(agentsRoutes({ agents, ...common }));
  await app.register(secretsRoutes({ secrets, grants, ...common }));
  await app.register(grantsRoutes({ grants, ...common }));
  await app.register(identityRoutes({ identity, ...common }));
  await app.register(delegationsRoutes({ delegations, ...common }));
  await app.register(auditRoutes({ audit, ...common }));
  await app.register(providersRoutes({ providers, ...common }));
  await app.register(
    proxyRoutes({
      proxy,
      ...common,
      maxBodyBytes: config.maxBodyBytes,
      maxResponseBytes: config.proxyMaxResponseBytes,
    }),
  );
  await app.register(gatewayRoutes({ proxy, ...common, maxBodyBytes: config.maxBodyBytes }));

  let closed = false;
  return {
    app,
    config,
    store,
    masterKey,
    services: { apps, keys, secrets, grants, audit, keyring, agents, identity, delegations },
    async close() {
      if (closed) return;
      closed = true;
      // Drain: stop accepting, let in-flight requests finish (bounded), then cut what is left.
      const drained = app.close();
      // Keep-alive connections become idle as their last response ends: close them as they do.
      const sweep = setInterval(() => app.server.closeIdleConnections(), 50);
      const timer = setTimeout(() => app.server.closeAllConnections(), config.shutdownTimeoutMs);
      await drained;
      clearInterval(sweep);
      clearTimeout(timer);
      await writer.close();
      await reader?.close();
      await coordinator.close();
      await dispatcher.close();
      await store.close();
    },
  };
}
