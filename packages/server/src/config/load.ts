import path from 'node:path';
import { z } from 'zod';
import { CONFIG_KEYS } from './schema.js';

/** Validated, frozen server configuration. */
export interface Config {
  readonly dataDir: string;
  readonly databaseUrl: string;
  readonly masterKey: string | undefined;
  readonly masterKeyFile: string | undefined;
  readonly host: string;
  readonly port: number;
  readonly publicUrl: string | undefined;
  readonly egressAllowCidrs: readonly string[];
  readonly egressAllowHttpHosts: readonly string[];
  readonly auditMode: 'sync' | 'async';
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  readonly replicaId: string | undefined;
  readonly upstreamConnectTimeoutMs: number;
  readonly upstreamHeadersTimeoutMs: number;
  readonly upstreamBodyTimeoutMs: number;
  readonly proxyMaxResponseBytes: number;
  readonly maxBodyBytes: number;
  readonly databasePoolSize: number;
  readonly databaseConnectTimeoutMs: number;
  readonly databaseStatementTimeoutMs: number;
  readonly redisUrl: string | undefined;
  readonly redisKeyPrefix: string;
  readonly cacheTtlMs: number;
  readonly cacheMaxEntries: number;
  readonly cacheDegradedTtlMs: number;
  readonly shutdownTimeoutMs: number;
  readonly idpJwksCooldownMs: number;
  readonly idpJwksCacheMaxAgeMs: number;
}

/** Thrown when configuration is invalid; the message lists every bad key (never a value). */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const splitList = (s: string): string[] =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);

/**
 * Reads configuration from an environment map, validates every key and returns a frozen Config.
 *
 * @param env environment variables (usually `process.env`).
 * @param overrides values that win over the environment (used by the CLI's flags and by tests).
 * @throws ConfigError listing every invalid key.
 */
export function loadConfig(
  env: Record<string, string | undefined>,
  overrides: Partial<Record<keyof typeof CONFIG_KEYS, string>> = {},
): Config {
  const values: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, spec] of Object.entries(CONFIG_KEYS)) {
    const raw = overrides[key as keyof typeof CONFIG_KEYS] ?? env[key];
    const parsed = (spec.schema as z.ZodType).safeParse(
      raw === '' && key !== 'LATCHKEY_EGRESS_ALLOW_CIDRS' && key !== 'LATCHKEY_EGRESS_ALLOW_HTTP_HOSTS'
        ? undefined
        : raw,
    );
    if (parsed.success) values[key] = parsed.data;
    else problems.push(`${key}: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
  }
  const cidrs = splitList(String(values.LATCHKEY_EGRESS_ALLOW_CIDRS ?? ''));
  for (const c of cidrs) {
    if (!/^[0-9a-fA-F:.]+\/\d{1,3}$/.test(c)) problems.push(`LATCHKEY_EGRESS_ALLOW_CIDRS: "${c}" is not a CIDR`);
  }
  if (values.LATCHKEY_MASTER_KEY && values.LATCHKEY_MASTER_KEY_FILE) {
    problems.push('LATCHKEY_MASTER_KEY and LATCHKEY_MASTER_KEY_FILE: set only one of them');
  }
  if (problems.length > 0) {
    throw new ConfigError(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
  const dataDir = path.resolve(String(values.LATCHKEY_DATA_DIR));
  return Object.freeze({
    dataDir,
    databaseUrl: (values.LATCHKEY_DATABASE_URL as string | undefined) ?? `sqlite:${path.join(dataDir, 'latchkey.db')}`,
    masterKey: values.LATCHKEY_MASTER_KEY as string | undefined,
    masterKeyFile: values.LATCHKEY_MASTER_KEY_FILE as string | undefined,
    host: values.LATCHKEY_HOST as string,
    port: values.LATCHKEY_PORT as number,
    publicUrl: values.LATCHKEY_PUBLIC_URL as string | undefined,
    egressAllowCidrs: Object.freeze(cidrs),
    egressAllowHttpHosts: Object.freeze(
      splitList(String(values.LATCHKEY_EGRESS_ALLOW_HTTP_HOSTS ?? '')).map((h) => h.toLowerCase()),
    ),
    auditMode: values.LATCHKEY_AUDIT_MODE as Config['auditMode'],
    logLevel: values.LATCHKEY_LOG_LEVEL as Config['logLevel'],
    replicaId: values.LATCHKEY_REPLICA_ID as string | undefined,
    upstreamConnectTimeoutMs: values.LATCHKEY_UPSTREAM_CONNECT_TIMEOUT_MS as number,
    upstreamHeadersTimeoutMs: values.LATCHKEY_UPSTREAM_HEADERS_TIMEOUT_MS as number,
    upstreamBodyTimeoutMs: values.LATCHKEY_UPSTREAM_BODY_TIMEOUT_MS as number,
    proxyMaxResponseBytes: values.LATCHKEY_PROXY_MAX_RESPONSE_BYTES as number,
    maxBodyBytes: values.LATCHKEY_MAX_BODY_BYTES as number,
    databasePoolSize: values.LATCHKEY_DATABASE_POOL_SIZE as number,
    databaseConnectTimeoutMs: values.LATCHKEY_DATABASE_CONNECT_TIMEOUT_MS as number,
    databaseStatementTimeoutMs: values.LATCHKEY_DATABASE_STATEMENT_TIMEOUT_MS as number,
    redisUrl: values.LATCHKEY_REDIS_URL as string | undefined,
    redisKeyPrefix: values.LATCHKEY_REDIS_KEY_PREFIX as string,
    cacheTtlMs: values.LATCHKEY_CACHE_TTL_MS as number,
    cacheMaxEntries: values.LATCHKEY_CACHE_MAX_ENTRIES as number,
    cacheDegradedTtlMs: values.LATCHKEY_CACHE_DEGRADED_TTL_MS as number,
    shutdownTimeoutMs: values.LATCHKEY_SHUTDOWN_TIMEOUT_MS as number,
    idpJwksCooldownMs: values.LATCHKEY_IDP_JWKS_COOLDOWN_MS as number,
    idpJwksCacheMaxAgeMs: values.LATCHKEY_IDP_JWKS_CACHE_MAX_AGE_MS as number,
  });
}
