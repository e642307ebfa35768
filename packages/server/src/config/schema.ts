import { z } from 'zod';

/**
 * Every configuration key (DESIGN §14): environment variable, type, default and description.
 * `docs/configuration.md` is generated from this table and a test fails when they drift.
 */
export const CONFIG_KEYS = {
  LATCHKEY_DATA_DIR: {
    schema: z.string().min(1).default('./.latchkey'),
    description: 'Directory for the embedded SQLite database, the generated master key and local state.',
  },
  LATCHKEY_DATABASE_URL: {
    schema: z
      .string()
      .regex(/^(sqlite:.*|postgres(ql)?:\/\/.+)$/, 'must be sqlite:<path> or postgres://…')
      .optional(),
    description: 'Database URL: `sqlite:<path>` (default: `sqlite:` + `<data dir>/latchkey.db`) or `postgres://…`.',
  },
  LATCHKEY_DATABASE_POOL_SIZE: {
    schema: z.coerce.number().int().min(1).max(200).default(10),
    description: 'PostgreSQL: connections in this replica’s pool.',
  },
  LATCHKEY_DATABASE_CONNECT_TIMEOUT_MS: {
    schema: z.coerce.number().int().min(100).max(120_000).default(5_000),
    description: 'PostgreSQL: time to open a connection, in milliseconds.',
  },
  LATCHKEY_DATABASE_STATEMENT_TIMEOUT_MS: {
    schema: z.coerce.number().int().min(100).max(600_000).default(15_000),
    description: 'PostgreSQL: longest a statement may run, in milliseconds.',
  },
  LATCHKEY_REDIS_URL: {
    schema: z
      .string()
      .regex(/^rediss?:\/\/.+/, 'must be redis://… or rediss://…')
      .optional(),
    description:
      'Redis for a cluster of replicas: shared signature nonces, rate-limit counters and cache invalidation. Unset: single node.',
  },
  LATCHKEY_REDIS_KEY_PREFIX: {
    schema: z
      .string()
      .regex(/^[A-Za-z0-9:_.-]{1,64}$/)
      .default('latchkey:'),
    description: 'Prefix of every Redis key and channel (lets several installations share one Redis).',
  },
  LATCHKEY_CACHE_TTL_MS: {
    schema: z.coerce.number().int().min(0).max(3_600_000).default(60_000),
    description: 'Lifetime of cached keys, grants and sealed credentials while invalidations reach every replica (ms).',
  },
  LATCHKEY_CACHE_MAX_ENTRIES: {
    schema: z.coerce.number().int().min(100).max(1_000_000).default(10_000),
    description:
      'Entries per hot-path cache (API keys, agents, grants, sealed credentials, delegations, end users); the least recently used is evicted beyond it, and each cache reserves about 28 bytes per entry up front. Measured under a random-grant load: 10,000 keeps peak RSS near 240 MB, 20,000 reached 345 MB (PostgreSQL).',
  },
  LATCHKEY_CACHE_DEGRADED_TTL_MS: {
    schema: z.coerce.number().int().min(0).max(60_000).default(500),
    description:
      'Cache lifetime while Redis is configured but unreachable, bounding how long a revocation can go unseen (ms).',
  },
  LATCHKEY_SHUTDOWN_TIMEOUT_MS: {
    schema: z.coerce.number().int().min(0).max(600_000).default(10_000),
    description: 'On SIGTERM, how long in-flight requests may finish before connections are closed (ms).',
  },
  LATCHKEY_MASTER_KEY: {
    schema: z.string().optional(),
    description: 'Root key: 32 bytes as base64 or 64 hex characters. Default: generated into `<data dir>/master.key`.',
  },
  LATCHKEY_MASTER_KEY_FILE: {
    schema: z.string().optional(),
    description: 'Path to a file holding the root key (same format as LATCHKEY_MASTER_KEY).',
  },
  LATCHKEY_HOST: {
    schema: z.string().min(1).default('127.0.0.1'),
    description: 'Address the server listens on.',
  },
  LATCHKEY_PORT: {
    schema: z.coerce.number().int().min(0).max(65535).default(7070),
    description: 'Port the server listens on (0 picks a free port).',
  },
  LATCHKEY_PUBLIC_URL: {
    schema: z.url().optional(),
    description:
      'Public base URL of this server. Signed requests are verified against it; default `http://<Host header>`.',
  },
  LATCHKEY_EGRESS_ALLOW_CIDRS: {
    schema: z.string().default(''),
    description:
      'Comma-separated CIDRs that upstream calls may reach although not globally routable (e.g. `127.0.0.0/8` for local development and tests).',
  },
  LATCHKEY_EGRESS_ALLOW_HTTP_HOSTS: {
    schema: z.string().default(''),
    description: 'Comma-separated hosts (host or host:port) that may be called over plain `http`.',
  },
  LATCHKEY_AUDIT_MODE: {
    schema: z.enum(['sync', 'async']).default('sync'),
    description:
      '`sync`: a call’s audit row is committed before its response is released. `async`: audit rows are written in the background.',
  },
  LATCHKEY_LOG_LEVEL: {
    schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    description: 'Log level (pino).',
  },
  LATCHKEY_REPLICA_ID: {
    schema: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/)
      .optional(),
    description: 'Identifier of this replica’s audit chain. Default: a random id per process start.',
  },
  LATCHKEY_UPSTREAM_CONNECT_TIMEOUT_MS: {
    schema: z.coerce.number().int().min(100).max(120_000).default(10_000),
    description: 'Upstream connect timeout in milliseconds.',
  },
  LATCHKEY_UPSTREAM_HEADERS_TIMEOUT_MS: {
    schema: z.coerce.number().int().min(100).max(600_000).default(60_000),
    description: 'Upstream time to response headers in milliseconds (then `504 upstream_timeout`).',
  },
  LATCHKEY_UPSTREAM_BODY_TIMEOUT_MS: {
    schema: z.coerce.number().int().min(100).max(3_600_000).default(300_000),
    description: 'Upstream idle time between body chunks in milliseconds.',
  },
  LATCHKEY_IDP_JWKS_COOLDOWN_MS: {
    schema: z.coerce.number().int().min(0).max(3_600_000).default(30_000),
    description:
      'Least time between two fetches of an identity provider’s JWKS triggered by an unknown key id (ms); bounds refetches a forged `kid` can cause.',
  },
  LATCHKEY_IDP_JWKS_CACHE_MAX_AGE_MS: {
    schema: z.coerce.number().int().min(1_000).max(86_400_000).default(600_000),
    description: 'Age after which an identity provider’s cached JWKS is fetched again (ms).',
  },
  LATCHKEY_PROXY_MAX_RESPONSE_BYTES: {
    schema: z.coerce
      .number()
      .int()
      .min(1024)
      .max(100 * 1024 * 1024)
      .default(10 * 1024 * 1024),
    description: 'Largest upstream body `/v1/proxy` returns; beyond it the body is cut and `body_truncated` is true.',
  },
  LATCHKEY_MAX_BODY_BYTES: {
    schema: z.coerce
      .number()
      .int()
      .min(1024)
      .max(1024 * 1024 * 1024)
      .default(10 * 1024 * 1024),
    description: 'Largest request body accepted by JSON endpoints and by signed `/v1/forward` calls (bytes).',
  },
} as const;

/** A configuration key name. */
export type ConfigKey = keyof typeof CONFIG_KEYS;
