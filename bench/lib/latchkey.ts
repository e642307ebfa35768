/**
 * A Latchkey server under test: started through the CLI (`latchkey serve`) in its own process,
 * plus the HTTP API calls the bench needs (store a bearer secret, grant it).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { deriveSigningKey } from '../../packages/server/src/crypto/tokens.js';
import { deriveKeyId } from '../../packages/server/src/modules/keys/keys.fns.js';
import { freePort, spawnChild, type Child } from './child.js';

/** Repository root (bench/lib/../..). */
export const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..');
/** The `latchkey` CLI of this checkout (`LATCHKEY_BENCH_CLI` runs another build's instead). */
const CLI = path.join(REPO_ROOT, 'packages', 'cli', 'bin', 'latchkey.mjs');

/** Options of {@link startLatchkey}. */
export interface LatchkeyOptions {
  readonly name: string;
  /** Data dir (master key, SQLite file); a fresh temp dir when omitted. */
  readonly dataDir?: string;
  /** `postgres://…` to use PostgreSQL instead of the SQLite file in the data dir. */
  readonly databaseUrl?: string;
  readonly auditMode?: 'sync' | 'async';
  /** Port to reuse (a restart); a free one when omitted. */
  readonly port?: number;
  /** Directory for `node --cpu-prof` output; no profiling when omitted. */
  readonly cpuProfDir?: string;
  /** A command the node process runs under, with its own arguments (e.g. `valgrind --tool=callgrind`). */
  readonly wrapper?: readonly string[];
  /** Readiness deadline in milliseconds (default 60 s). */
  readonly readyTimeoutMs?: number;
}

/** Credentials printed on first start. */
export interface LatchkeyInit {
  readonly appId: string;
  readonly appKey: string;
}

/** A running Latchkey. */
export interface LatchkeyServer {
  readonly child: Child;
  readonly origin: string;
  readonly port: number;
  readonly dataDir: string;
  readonly databaseUrl: string;
  /** Present on first start only. */
  readonly init: LatchkeyInit | undefined;
}

/**
 * The environment of a bench Latchkey server: this process's, with loopback egress allowed, warn
 * logging, the given public URL and audit mode (default sync), and no master key, Redis or database
 * setting inherited (SQLite in the data dir unless `databaseUrl` is given).
 */
function latchkeyEnv(
  origin: string,
  opts: { auditMode?: 'sync' | 'async'; databaseUrl?: string | undefined } = {},
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    LATCHKEY_EGRESS_ALLOW_CIDRS: '127.0.0.0/8',
    LATCHKEY_EGRESS_ALLOW_HTTP_HOSTS: '127.0.0.1',
    LATCHKEY_LOG_LEVEL: 'warn',
    LATCHKEY_PUBLIC_URL: origin,
    LATCHKEY_AUDIT_MODE: opts.auditMode ?? 'sync',
  };
  delete env['LATCHKEY_MASTER_KEY'];
  delete env['LATCHKEY_MASTER_KEY_FILE'];
  delete env['LATCHKEY_REDIS_URL'];
  if (opts.databaseUrl) env['LATCHKEY_DATABASE_URL'] = opts.databaseUrl;
  else delete env['LATCHKEY_DATABASE_URL'];
  return env;
}

/**
 * Starts `latchkey serve --data-dir D --port P --json` with loopback egress allowed, log level
 * `warn`, `LATCHKEY_PUBLIC_URL` = its own origin (so signed target URIs match) and the audit mode.
 *
 * @throws Error when the server does not come up within `readyTimeoutMs` (default 60 s).
 */
export async function startLatchkey(opts: LatchkeyOptions): Promise<LatchkeyServer> {
  const dataDir = opts.dataDir ?? mkdtempSync(path.join(tmpdir(), 'lk-bench-'));
  const port = opts.port ?? (await freePort());
  const origin = `http://127.0.0.1:${port}`;
  const env = latchkeyEnv(origin, opts);
  const nodeArgs = opts.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.cpuProfDir}`] : [];
  // Extra node flags for investigations (e.g. `--trace-gc`), split on spaces.
  nodeArgs.push(...(process.env['LATCHKEY_BENCH_NODE_ARGS'] ?? '').split(' ').filter(Boolean));
  const [command = process.execPath, ...wrapperArgs] = opts.wrapper ?? [];
  const child = await spawnChild(
    opts.name,
    command,
    [
      ...(opts.wrapper ? [...wrapperArgs, process.execPath] : []),
      ...nodeArgs,
      process.env['LATCHKEY_BENCH_CLI'] ?? CLI,
      'serve',
      '--data-dir',
      dataDir,
      '--port',
      String(port),
      '--json',
    ],
    {
      env,
      cwd: REPO_ROOT,
      timeoutMs: opts.readyTimeoutMs,
      ready: ({ stderr }) => stderr.includes('Latchkey listening on'),
    },
  );
  const first = child
    .stdout()
    .split('\n')
    .find((l) => l.startsWith('{'));
  const parsed = first ? (JSON.parse(first) as { app_id: string; app_key: string }) : undefined;
  return {
    child,
    origin,
    port,
    dataDir,
    databaseUrl: opts.databaseUrl ?? `sqlite:${path.join(dataDir, 'latchkey.db')}`,
    init: parsed ? { appId: parsed.app_id, appKey: parsed.app_key } : undefined,
  };
}

/** A JSON API call with a bearer app key; throws on a non-2xx answer. */
export async function apiCall<T>(
  origin: string,
  appKey: string,
  method: string,
  p: string,
  body?: unknown,
): Promise<T> {
  const res = await fetch(`${origin}${p}`, {
    method,
    headers: {
      authorization: `Bearer ${appKey}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${p} → ${res.status}: ${text}`);
  return JSON.parse(text) as T;
}

/** A bearer managed secret for the bench upstream and a grant on it. */
export interface BenchGrant {
  readonly secretId: string;
  readonly grantId: string;
  /** Whether the secret carries a gateway `base_url` (the server accepted the field). */
  readonly hasBaseUrl: boolean;
}

/** The plaintext of every bench credential. */
export const BENCH_TOKEN = 'bench-upstream-token-0123456789abcdef';

/**
 * Stores a bearer secret allowed to `127.0.0.1:<upstream port>` (with that origin as its gateway
 * base URL when the server knows `base_url`) and grants it to the `system` principal.
 */
export async function createBenchGrant(lk: LatchkeyServer, upstreamPort: number, slug = 'bench'): Promise<BenchGrant> {
  if (!lk.init) throw new TypeError('createBenchGrant needs a first-start server');
  const { appKey } = lk.init;
  const base = { slug, type: 'bearer', value: BENCH_TOKEN, allowed_hosts: [`127.0.0.1:${upstreamPort}`] };
  let hasBaseUrl = true;
  let secret: { id: string };
  try {
    secret = await apiCall(lk.origin, appKey, 'POST', '/v1/managed-secrets', {
      ...base,
      base_url: `http://127.0.0.1:${upstreamPort}`,
    });
  } catch {
    hasBaseUrl = false;
    secret = await apiCall(lk.origin, appKey, 'POST', '/v1/managed-secrets', base);
  }
  const grant = await apiCall<{ grant_id: string }>(
    lk.origin,
    appKey,
    'POST',
    `/v1/managed-secrets/${secret.id}/grants`,
    { principal: { type: 'system', label: 'bench' } },
  );
  return { secretId: secret.id, grantId: grant.grant_id, hasBaseUrl };
}

/** The signing identity of an app key, as the SDK derives it (DESIGN §5). */
export function signingIdentity(appKey: string): { keyId: string; signingKey: Buffer } {
  return { keyId: deriveKeyId(appKey), signingKey: deriveSigningKey(appKey) };
}
