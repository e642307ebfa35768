/**
 * Bad input over every route (DESIGN §13 "Bad input"): property/fuzz tests with fast-check against a
 * real server on a real socket. For every rejected request: a 4xx (never a 5xx), a JSON body with a
 * registered `error.code` whose status matches, a `request_id`, and no state change (every table but
 * the audit trail compared row by row; the only audit rows a rejection may add are
 * `proxy.request.denied`; nothing reaches the upstream). Secrets submitted in a bad shape are never
 * echoed, and the server stays healthy.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import net from 'node:net';
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ZodType } from 'zod';
import {
  Context,
  CreateGrantBody,
  CreateSecretBody,
  ERROR_CODES,
  ListAuditQuery,
  ListGrantsQuery,
  MintKeyBody,
  PageQuery,
  ProxyRequestBody,
  RevokeGrantBody,
  RotateSecretBody,
  UpdateSecretBody,
} from '@latchkey/api';
import { deriveSigningKey, signRequest } from '../src/index.js';
import { startServer, type TestServer } from './helpers/server.js';
import { startUpstream, type Upstream } from './helpers/upstream.js';

const CANARY = `CANARY-${randomBytes(12).toString('hex')}`;
/** Fuzz budget per property; the whole file stays well under a minute. */
const RUNS = 150;

// ---------------------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------------------

interface Res {
  method: string;
  status: number;
  headers: Headers;
  text: string;
}

interface CallOpts {
  /** API key sent as `Authorization: Bearer`; null sends none. */
  key?: string | null;
  headers?: Record<string, string>;
  /** JSON-serialised with `content-type: application/json`. */
  json?: unknown;
  /** Raw body; `contentType` (if any) is sent as given. */
  raw?: string | Uint8Array | ReadableStream<Uint8Array>;
  contentType?: string;
}

async function send(baseUrl: string, method: string, path: string, o: CallOpts = {}): Promise<Res> {
  const headers: Record<string, string> = { ...(o.headers ?? {}) };
  if (o.key) headers['authorization'] = `Bearer ${o.key}`;
  let body: RequestInit['body'];
  if (o.json !== undefined) {
    body = JSON.stringify(o.json);
    headers['content-type'] = o.contentType ?? 'application/json';
  } else if (o.raw !== undefined) {
    body = o.raw as RequestInit['body'];
    if (o.contentType !== undefined) headers['content-type'] = o.contentType;
  }
  const init = { method, headers, body, ...(body instanceof ReadableStream ? { duplex: 'half' } : {}) } as RequestInit;
  const r = await fetch(`${baseUrl}${path}`, init);
  return { method, status: r.status, headers: r.headers, text: await r.text() };
}

/** Throws (with context) unless `r` is a typed 4xx error of DESIGN §11. */
function expectTypedError(
  r: Res,
  ctx: string,
  want: { status?: number; code?: string } = {},
): { code: string; message: string; details?: unknown } {
  const show = () => `${ctx}: got ${r.status} ${r.text.slice(0, 400)}`;
  if (!(r.status >= 400 && r.status < 500)) throw new Error(`expected a 4xx — ${show()}`);
  if (want.status !== undefined && r.status !== want.status) throw new Error(`expected ${want.status} — ${show()}`);
  if (r.headers.get('latchkey-error') !== '1') throw new Error(`no latchkey-error header — ${show()}`);
  if (r.method === 'HEAD') {
    // A HEAD response has no body; the status and the request id still say what happened.
    if (r.text !== '' || !r.headers.get('x-request-id')) throw new Error(`HEAD error — ${show()}`);
    return { code: '', message: '' };
  }
  if (!/^application\/json/.test(r.headers.get('content-type') ?? '')) throw new Error(`error is not JSON — ${show()}`);
  let body: { error?: Record<string, unknown> };
  try {
    body = JSON.parse(r.text) as typeof body;
  } catch {
    throw new Error(`error body does not parse — ${show()}`);
  }
  const e = body.error;
  if (!e || Object.keys(body).length !== 1) throw new Error(`error body shape — ${show()}`);
  const extra = Object.keys(e).filter((k) => !['code', 'message', 'details', 'request_id'].includes(k));
  if (extra.length) throw new Error(`unexpected error fields ${extra.join(',')} — ${show()}`);
  const code = e['code'];
  if (typeof code !== 'string' || !Object.hasOwn(ERROR_CODES, code)) throw new Error(`unregistered code — ${show()}`);
  if (ERROR_CODES[code as keyof typeof ERROR_CODES].status !== r.status)
    throw new Error(`status does not match the registry — ${show()}`);
  if (want.code !== undefined && code !== want.code) throw new Error(`expected ${want.code} — ${show()}`);
  if (typeof e['message'] !== 'string' || e['message'].length === 0) throw new Error(`no message — ${show()}`);
  if (
    e['details'] !== undefined &&
    (typeof e['details'] !== 'object' || e['details'] === null || Array.isArray(e['details']))
  ) {
    throw new Error(`details is not an object — ${show()}`);
  }
  const rid = e['request_id'];
  if (typeof rid !== 'string' || rid.length === 0) throw new Error(`no request_id — ${show()}`);
  if (r.headers.get('x-request-id') !== rid) throw new Error(`x-request-id differs from request_id — ${show()}`);
  return { code, message: e['message'], details: e['details'] };
}

// ---------------------------------------------------------------------------------------------
// Fixtures and state
// ---------------------------------------------------------------------------------------------

type KeyName = 'audit' | 'read' | 'write' | 'idScoped';
const NARROW_SCOPES: Record<KeyName, string[]> = {
  audit: ['audit:read'],
  read: ['keys:read', 'secrets:read', 'grants:read'],
  write: ['keys:write', 'secrets:write', 'grants:write'],
  idScoped: ['secrets:admin:ms_doesnotexist000', 'grants:admin:nothing', 'keys:admin:key_nothing'],
};

interface Fixtures {
  srv: TestServer;
  admin: string;
  adminKeyId: string;
  keys: Record<KeyName, string>;
  spareKeyId: string;
  bearerId: string;
  bearerSlug: string;
  basicId: string;
  customId: string;
  grantId: string;
  revokedGrantId: string;
}

async function ok<T>(r: Res, status = 200): Promise<T> {
  if (r.status !== status) throw new Error(`setup call failed: ${r.status} ${r.text}`);
  return JSON.parse(r.text) as T;
}

async function setUp(srv: TestServer, upstream: Upstream): Promise<Fixtures> {
  const admin = srv.appKey;
  const post = (path: string, json: unknown, status = 201) =>
    send(srv.baseUrl, 'POST', path, { key: admin, json }).then((r) => ok<Record<string, unknown>>(r, status));
  const keys = {} as Record<KeyName, string>;
  for (const [name, scopes] of Object.entries(NARROW_SCOPES)) {
    const r = await post('/v1/keys', { name, scopes });
    keys[name as KeyName] = r['api_key'] as string;
  }
  const spare = await post('/v1/keys', { name: 'spare', scopes: ['keys:read'] });
  const hosts = [`${upstream.host}:${upstream.port}`];
  const bearer = await post('/v1/managed-secrets', {
    slug: 'bearer-one',
    type: 'bearer',
    value: `tok-${randomBytes(12).toString('hex')}`,
    allowed_hosts: hosts,
  });
  const basic = await post('/v1/managed-secrets', {
    slug: 'basic-one',
    type: 'basic',
    value: { username: 'u', password: 'p-secret-1' },
    allowed_hosts: hosts,
  });
  const custom = await post('/v1/managed-secrets', {
    slug: 'custom-one',
    type: 'custom',
    value: { token: 'custom-secret-1', account: 'acct' },
    injection: { headers: [{ name: 'x-token', format: '{token}:{account}' }] },
    allowed_hosts: hosts,
  });
  const grant = await post(`/v1/managed-secrets/${bearer['id'] as string}/grants`, { principal: { type: 'system' } });
  const revoked = await post(`/v1/managed-secrets/${bearer['id'] as string}/grants`, {
    principal: { type: 'system' },
    label: 'to revoke',
  });
  await post(`/v1/grants/${revoked['grant_id'] as string}/revoke`, { reason: 'fixture' }, 200);
  const list = await ok<{ keys: { key_id: string; name: string | null }[] }>(
    await send(srv.baseUrl, 'GET', '/v1/keys?limit=500', { key: admin }),
  );
  return {
    srv,
    admin,
    adminKeyId: list.keys.find((k) => k.name === 'first app key')!.key_id,
    keys,
    spareKeyId: (spare['key'] as { key_id: string }).key_id,
    bearerId: bearer['id'] as string,
    bearerSlug: 'bearer-one',
    basicId: basic['id'] as string,
    customId: custom['id'] as string,
    grantId: grant['grant_id'] as string,
    revokedGrantId: revoked['grant_id'] as string,
  };
}

const STATE_TABLES = ['apps', 'app_keks', 'api_keys', 'managed_secrets', 'grants', 'idempotency_keys'] as const;

interface Snapshot {
  rows: string;
  auditSeq: number;
  seen: number;
}

async function snapshot(fx: Fixtures, upstream: Upstream): Promise<Snapshot> {
  const db = fx.srv.lk.store.db;
  const rows: Record<string, unknown[]> = {};
  for (const t of STATE_TABLES)
    rows[t] = await db
      .selectFrom(t as 'apps')
      .selectAll()
      .execute();
  const max = await db
    .selectFrom('audit_events')
    .select((eb) => eb.fn.max('seq').as('m'))
    .executeTakeFirst();
  return { rows: JSON.stringify(rows), auditSeq: Number(max?.m ?? 0), seen: upstream.seen.length };
}

/** Throws unless nothing changed since `before` (only `proxy.request.denied` audit rows may appear when `proxy`). */
async function expectNoStateChange(
  fx: Fixtures,
  upstream: Upstream,
  before: Snapshot,
  ctx: string,
  proxy = false,
): Promise<void> {
  const after = await snapshot(fx, upstream);
  if (after.rows !== before.rows) throw new Error(`${ctx}: state changed`);
  if (after.seen !== before.seen) throw new Error(`${ctx}: the upstream was called`);
  const added = await fx.srv.lk.store.db
    .selectFrom('audit_events')
    .select(['event', 'outcome'])
    .where('seq', '>', before.auditSeq)
    .execute();
  const unexpected = added.filter((a) => !(proxy && a.event === 'proxy.request.denied' && a.outcome === 'denied'));
  if (unexpected.length) throw new Error(`${ctx}: unexpected audit rows ${JSON.stringify(unexpected)}`);
}

/** The list endpoints' view of state: totals, and the items' version / status. */
async function apiSnapshot(fx: Fixtures) {
  const get = async <T>(path: string) => ok<T>(await send(fx.srv.baseUrl, 'GET', path, { key: fx.admin }));
  const s = await get<{
    total: number;
    managed_secrets: { id: string; version: number; updated_at: string; allowed_hosts: string[] }[];
  }>('/v1/managed-secrets?limit=500');
  const g = await get<{ total: number; grants: { grant_id: string; status: string; revoked_at: string | null }[] }>(
    '/v1/grants?limit=500',
  );
  const k = await get<{ total: number; keys: { key_id: string; status: string; scopes: string[] }[] }>(
    '/v1/keys?limit=500',
  );
  return {
    secrets: { total: s.total, items: s.managed_secrets.map((m) => [m.id, m.version, m.updated_at, m.allowed_hosts]) },
    grants: { total: g.total, items: g.grants.map((m) => [m.grant_id, m.status, m.revoked_at]) },
    keys: { total: k.total, items: k.keys.map((m) => [m.key_id, m.status, m.scopes]) },
  };
}

// ---------------------------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------------------------

type ParamKind = 'key' | 'secret' | 'grant';

interface RouteSpec {
  name: string;
  method: string;
  /** Path with `{p}` standing for the path parameter (already encoded). */
  path: string;
  param?: ParamKind;
  scope: string;
  /** Narrow keys that must get `403 insufficient_scope`. */
  deniedFor: KeyName[];
  body?: { schema: ZodType; valid: (fx: Fixtures, upstream: Upstream) => Record<string, unknown> };
  query?: ZodType;
  /** The proxy front doors audit refusals of authenticated callers. */
  proxy?: boolean;
}

const ROUTES: RouteSpec[] = [
  {
    name: 'mintKey',
    method: 'POST',
    path: '/v1/keys',
    scope: 'keys:admin',
    deniedFor: ['audit', 'read', 'write', 'idScoped'],
    body: { schema: MintKeyBody, valid: () => ({ name: 'new', scopes: ['audit:read'] }) },
  },
  {
    name: 'listKeys',
    method: 'GET',
    path: '/v1/keys',
    scope: 'keys:read',
    deniedFor: ['audit', 'idScoped'],
    query: PageQuery,
  },
  {
    name: 'revokeKey',
    method: 'POST',
    path: '/v1/keys/{p}/revoke',
    param: 'key',
    scope: 'keys:admin',
    deniedFor: ['audit', 'read', 'write', 'idScoped'],
  },
  {
    name: 'createManagedSecret',
    method: 'POST',
    path: '/v1/managed-secrets',
    scope: 'secrets:write',
    deniedFor: ['audit', 'read', 'idScoped'],
    body: {
      schema: CreateSecretBody,
      valid: () => ({
        slug: 'brand-new',
        type: 'bearer',
        value: `${CANARY}-valid`,
        allowed_hosts: ['api.example.com'],
      }),
    },
  },
  {
    name: 'listManagedSecrets',
    method: 'GET',
    path: '/v1/managed-secrets',
    scope: 'secrets:read',
    deniedFor: ['audit', 'idScoped'],
    query: PageQuery,
  },
  {
    name: 'getManagedSecret',
    method: 'GET',
    path: '/v1/managed-secrets/{p}',
    param: 'secret',
    scope: 'secrets:read',
    deniedFor: ['audit', 'idScoped'],
  },
  {
    name: 'updateManagedSecret',
    method: 'PATCH',
    path: '/v1/managed-secrets/{p}',
    param: 'secret',
    scope: 'secrets:write',
    deniedFor: ['audit', 'read', 'idScoped'],
    body: { schema: UpdateSecretBody, valid: () => ({ name: 'renamed', allowed_hosts: ['other.example.com'] }) },
  },
  {
    name: 'deleteManagedSecret',
    method: 'DELETE',
    path: '/v1/managed-secrets/{p}',
    param: 'secret',
    scope: 'secrets:write',
    deniedFor: ['audit', 'read', 'idScoped'],
  },
  {
    name: 'rotateManagedSecret',
    method: 'POST',
    path: '/v1/managed-secrets/{p}/rotate',
    param: 'secret',
    scope: 'secrets:write',
    deniedFor: ['audit', 'read', 'idScoped'],
    body: { schema: RotateSecretBody, valid: () => ({ value: `${CANARY}-rotated` }) },
  },
  {
    name: 'createManagedSecretGrant',
    method: 'POST',
    path: '/v1/managed-secrets/{p}/grants',
    param: 'secret',
    scope: 'grants:write',
    deniedFor: ['audit', 'read', 'idScoped'],
    body: {
      schema: CreateGrantBody,
      valid: () => ({ principal: { type: 'system', label: 'x' }, grant_policy: { default_ttl_seconds: 60 } }),
    },
  },
  {
    name: 'listGrants',
    method: 'GET',
    path: '/v1/grants',
    scope: 'grants:read',
    deniedFor: ['audit', 'idScoped'],
    query: ListGrantsQuery,
  },
  {
    name: 'getGrant',
    method: 'GET',
    path: '/v1/grants/{p}',
    param: 'grant',
    scope: 'grants:read',
    deniedFor: ['audit', 'idScoped'],
  },
  {
    name: 'revokeGrant',
    method: 'POST',
    path: '/v1/grants/{p}/revoke',
    param: 'grant',
    scope: 'grants:write',
    deniedFor: ['audit', 'read', 'idScoped'],
    body: { schema: RevokeGrantBody, valid: () => ({ reason: 'no longer needed' }) },
  },
  {
    name: 'listAuditEvents',
    method: 'GET',
    path: '/v1/audit',
    scope: 'audit:read',
    deniedFor: ['read', 'write', 'idScoped'],
    query: ListAuditQuery,
  },
  {
    name: 'verifyAuditChains',
    method: 'GET',
    path: '/v1/audit/verify',
    scope: 'audit:read',
    deniedFor: ['read', 'write', 'idScoped'],
  },
  {
    name: 'forward',
    method: 'GET',
    path: '/v1/forward',
    scope: 'proxy:execute',
    deniedFor: ['audit', 'read', 'write', 'idScoped'],
    proxy: true,
  },
  {
    name: 'proxyRequest',
    method: 'POST',
    path: '/v1/proxy',
    scope: 'proxy:execute',
    deniedFor: ['audit', 'read', 'write', 'idScoped'],
    proxy: true,
    body: {
      schema: ProxyRequestBody,
      valid: (fx, up) => ({ method: 'GET', url: `${up.url}/ok`, grant_id: fx.grantId }),
    },
  },
];

const BODY_ROUTES = ROUTES.filter((r) => r.body);
const PARAM_ROUTES = ROUTES.filter((r) => r.param);
const QUERY_ROUTES = ROUTES.filter((r) => r.query);

function realParam(fx: Fixtures, kind: ParamKind | undefined): string {
  if (kind === 'key') return fx.spareKeyId;
  if (kind === 'secret') return fx.bearerId;
  if (kind === 'grant') return fx.grantId;
  return '';
}

/** The well-formed request of a route (real ids, valid body, proxy headers), minus authentication. */
function wellFormed(
  route: RouteSpec,
  fx: Fixtures,
  upstream: Upstream,
  param = realParam(fx, route.param),
): { path: string; opts: CallOpts } {
  const opts: CallOpts = {};
  if (route.body) opts.json = route.body.valid(fx, upstream);
  if (route.name === 'forward')
    opts.headers = { 'latchkey-target': `${upstream.url}/ok`, 'latchkey-grant-id': fx.grantId };
  return { path: route.path.replace('{p}', param), opts };
}

// ---------------------------------------------------------------------------------------------
// Arbitraries
// ---------------------------------------------------------------------------------------------

const dangerousKey = fc.constantFrom(
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'valueOf',
  'hasOwnProperty',
  '__defineGetter__',
  'then',
);
const nastyString = fc.constantFrom(
  '',
  ' ',
  '\u0000',
  '\u202e\u0301',
  '\ud83d\ude00',
  '\ufeff',
  'null',
  'undefined',
  'NaN',
  '-1',
  '1e309',
  '../../etc/passwd',
  '%00',
  "' OR 1=1 --",
  '<script>alert(1)</script>',
  '${7*7}',
  '{{7*7}}',
  '\r\nx-injected: 1',
  'ms_00000000',
  '*',
);
const weirdString = fc.oneof(
  { arbitrary: fc.string(), weight: 3 },
  { arbitrary: fc.string({ unit: 'binary' }), weight: 2 },
  { arbitrary: fc.string({ unit: 'grapheme' }), weight: 2 },
  { arbitrary: nastyString, weight: 3 },
  { arbitrary: fc.integer({ min: 17_000, max: 40_000 }).map((n) => 'x'.repeat(n)), weight: 1 },
);
const jsonKey = fc.oneof(
  { arbitrary: fc.string({ maxLength: 12 }), weight: 3 },
  { arbitrary: dangerousKey, weight: 1 },
);
const anyJson: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double(),
    weirdString,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(jsonKey, tie('value'), { maxKeys: 4 }),
  ),
})).value;

function withKey(o: Record<string, unknown>, k: string, v: unknown): Record<string, unknown> {
  const out = { ...o };
  Object.defineProperty(out, k, { value: v, enumerable: true, configurable: true, writable: true });
  return out;
}

/** Valid body with one field of the wrong type, one missing, one extra (incl. `__proto__`), or not an object at all. */
function mutated(valid: Record<string, unknown>): fc.Arbitrary<unknown> {
  const keys = Object.keys(valid);
  return fc.oneof(
    fc.tuple(fc.constantFrom(...keys), anyJson).map(([k, v]) => withKey(valid, k, v)),
    fc.constantFrom(...keys).map((k) => {
      const o = { ...valid };
      delete o[k];
      return o;
    }),
    fc.tuple(jsonKey, anyJson).map(([k, v]) => withKey(valid, k, v)),
    fc
      .tuple(fc.constantFrom(...keys), fc.constantFrom(...keys))
      .map(([a, b]) =>
        withKey(withKey(valid, a, valid[b] === undefined ? null : [valid[b]]), b, { nested: valid[a] ?? null }),
      ),
    anyJson,
  );
}

/** What the server would parse from `JSON.stringify(v)`. */
function roundTrip(v: unknown): unknown {
  const s = JSON.stringify(v);
  return s === undefined ? undefined : (JSON.parse(s) as unknown);
}

/** Whether the server's schema refuses what it would receive for `v` (the JSON round trip). */
function rejects(schema: ZodType, v: unknown): boolean {
  // Regression: fast-check builds null-prototype objects that zod cannot inspect in place; the server
  // only ever sees the JSON text, so judge the round-tripped value.
  return !schema.safeParse(roundTrip(v)).success;
}

const encodable = (s: string) => {
  try {
    encodeURIComponent(s);
    return true;
  } catch {
    return false;
  }
};

const badId = fc.oneof(
  weirdString.filter((s) => s.length > 0 && s.length < 3000 && encodable(s)),
  fc.constantFrom(
    'ms_',
    'ms_short',
    `ms_${'a'.repeat(65)}`,
    'ms_000000000000000000000000',
    '00000000-0000-0000-0000-000000000000',
    'ffffffff-ffff-ffff-ffff-ffffffffffff',
    'key_00000000',
    'key_!!!!!!!!',
    '%',
    '%25',
    'null',
    '__proto__',
    'constructor',
    '-1',
    '0',
  ),
  fc.uuid().map((u) => u),
  fc.uuid().map((u) => u.toUpperCase()),
  fc.stringMatching(/^ms_[A-Za-z0-9]{8,64}$/),
  fc.stringMatching(/^key_[A-Za-z0-9]{8,64}$/),
);

const queryValue = fc.oneof(
  fc.constantFrom(
    '0',
    '501',
    '-1',
    'abc',
    '1.5',
    '',
    ' ',
    'NaN',
    'Infinity',
    '-0.5',
    '1e3',
    '99999999999999999999',
    '2026-13-01T00:00:00Z',
    'yesterday',
    'bogus',
    '__proto__',
  ),
  fc.string({ maxLength: 80 }),
  fc.integer().map(String),
  fc.double().map(String),
);

function queryArb(keys: string[]): fc.Arbitrary<Record<string, string | string[]>> {
  return fc.dictionary(
    fc.constantFrom(...keys),
    fc.oneof(
      { arbitrary: queryValue, weight: 4 },
      { arbitrary: fc.array(queryValue, { minLength: 2, maxLength: 3 }), weight: 1 },
    ),
    {
      minKeys: 1,
      maxKeys: 3,
    },
  );
}

/** Zod-valid timestamps whose offset carries them past 9999-12-31T23:59:59.999Z. */
const beyondYear9999 = fc
  .record({
    h: fc.integer({ min: 0, max: 23 }),
    m: fc.integer({ min: 0, max: 59 }),
    s: fc.integer({ min: 0, max: 59 }),
    oh: fc.integer({ min: 0, max: 23 }),
    om: fc.integer({ min: 0, max: 59 }),
  })
  .filter(({ h, m, s, oh, om }) => (h * 60 + m) * 60 + s + (oh * 60 + om) * 60 >= 86_400)
  .map(({ h, m, s, oh, om }) => {
    const p = (n: number) => String(n).padStart(2, '0');
    return `9999-12-31T${p(h)}:${p(m)}:${p(s)}-${p(oh)}:${p(om)}`;
  });

function isCidr(c: string): boolean {
  try {
    ipaddr.parseCIDR(c);
    return true;
  } catch {
    return false;
  }
}

function toSearch(q: Record<string, string | string[]>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) for (const x of Array.isArray(v) ? v : [v]) p.append(k, x);
  return p.toString();
}

/** Header values fetch can send: visible ASCII and Latin-1, inner spaces. */
const headerValue = fc.oneof(
  fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 120 }),
  fc
    .string({
      unit: fc
        .oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0xa1, max: 0xff }))
        .map((c) => String.fromCharCode(c)),
      minLength: 1,
      maxLength: 60,
    })
    .map((s) => `v${s}v`),
  fc.constantFrom('x'.repeat(2000), '{}', '[]', 'null', '{"a":1}', '{"__proto__":{"x":"1"}}', '{"":"x"}'),
);

// ---------------------------------------------------------------------------------------------
// Suite
// ---------------------------------------------------------------------------------------------

let upstream: Upstream;
let main: Fixtures;
let small: Fixtures;
let apiBefore: Awaited<ReturnType<typeof apiSnapshot>>;
let protoKeysBefore: string[];

beforeAll(async () => {
  protoKeysBefore = Object.getOwnPropertyNames(Object.prototype);
  upstream = await startUpstream();
  const env = { LATCHKEY_EGRESS_ALLOW_HTTP_HOSTS: upstream.host };
  main = await setUp(await startServer(env), upstream);
  small = await setUp(await startServer({ ...env, LATCHKEY_MAX_BODY_BYTES: '4096' }), upstream);
  apiBefore = await apiSnapshot(main);
});

afterAll(async () => {
  await main?.srv.close();
  await small?.srv.close();
  await upstream?.close();
});

/** Runs one bad request and checks the response and the state; returns the parsed error. */
async function rejected(
  fx: Fixtures,
  method: string,
  path: string,
  opts: CallOpts,
  ctx: string,
  want: { status?: number; code?: string; proxy?: boolean } = {},
) {
  const before = await snapshot(fx, upstream);
  const r = await send(fx.srv.baseUrl, method, path, opts);
  const err = expectTypedError(r, `${method} ${path} ${ctx}`, want);
  await expectNoStateChange(fx, upstream, before, `${method} ${path} ${ctx}`, want.proxy);
  return { r, err };
}

describe('every route: authentication and scope', () => {
  it.each(ROUTES.map((r) => [r.name, r] as const))(
    '%s: the unauthenticated request is 401 unauthorized',
    async (_n, route) => {
      const { path, opts } = wellFormed(route, main, upstream);
      await rejected(main, route.method, path, { ...opts, key: null }, 'no credentials', {
        status: 401,
        code: 'unauthorized',
      });
      await rejected(
        main,
        route.method,
        path,
        { ...opts, key: `lk_app_${randomBytes(32).toString('hex')}` },
        'unknown key',
        { status: 401, code: 'unauthorized' },
      );
    },
  );

  it.each(ROUTES.map((r) => [r.name, r] as const))(
    '%s: without credentials, bad ids, queries and bodies are 401 before any validation',
    async (_n, route) => {
      const path = route.path.replace('{p}', 'not-an-id');
      const opts: CallOpts =
        route.method === 'GET'
          ? {}
          : {
              raw: '{"scopes": 1, "value": [], "method": "TRACE", "principal": null}',
              contentType: 'application/json',
            };
      const q = route.query ? '?limit=0&offset=-1&cursor=abc' : '';
      const { err } = await rejected(
        main,
        route.method,
        path + q,
        { ...opts, key: null },
        'no credentials, bad input',
        { status: 401, code: 'unauthorized' },
      );
      expect(err.details).toBeUndefined();
      // Under-scoped keys learn nothing about the input either.
      const k = route.deniedFor[0]!;
      await rejected(main, route.method, path + q, { ...opts, key: main.keys[k] }, `key ${k}, bad input`, {
        status: 403,
        code: 'insufficient_scope',
        proxy: route.proxy,
      });
      if (route.method !== 'GET') {
        // Bodies are parsed before authentication (a signature covers the raw bytes): a typed 4xx, whichever comes first.
        await rejected(
          main,
          route.method,
          path,
          { raw: '{"__proto__": {"x": 1}', contentType: 'application/json', key: null },
          'no credentials, malformed JSON',
        );
      }
    },
  );

  it.each(ROUTES.map((r) => [r.name, r] as const))(
    '%s: a key without the scope is 403 insufficient_scope',
    async (_n, route) => {
      const { path, opts } = wellFormed(route, main, upstream);
      for (const k of route.deniedFor) {
        const { err } = await rejected(main, route.method, path, { ...opts, key: main.keys[k] }, `key ${k}`, {
          status: 403,
          code: 'insufficient_scope',
          proxy: route.proxy,
        });
        expect(err.details).toEqual({ required_scope: route.scope });
      }
    },
  );

  it('fuzzed credentials (bearer, other schemes, RFC 9421 signatures) are always 401 unauthorized', async () => {
    const route = fc.constantFrom(...ROUTES);
    type Cred = { headers: Record<string, string> } | { sign: { real: boolean; skew: number } };
    const h = (a: fc.Arbitrary<Record<string, string>>): fc.Arbitrary<Cred> => a.map((headers) => ({ headers }));
    const cred: fc.Arbitrary<Cred> = fc.oneof(
      h(fc.constant({})),
      h(headerValue.map((v) => ({ authorization: v }))),
      h(headerValue.map((v) => ({ authorization: `Bearer ${v}` }))),
      h(fc.stringMatching(/^[A-Za-z0-9]{1,60}$/).map((v) => ({ authorization: `Bearer lk_app_${v}` }))),
      h(fc.stringMatching(/^[A-Za-z0-9]{1,60}$/).map((v) => ({ authorization: `Bearer lk_agent_${v}` }))),
      h(
        fc
          .constantFrom('Basic Zm9vOmJhcg==', 'Bearer', 'Bearer ', 'bearer\tlk_app_x', 'Token lk_app_x', 'Digest x')
          .map((v) => ({ authorization: v })),
      ),
      h(fc.record({ 'signature-input': headerValue, signature: headerValue })),
      h(fc.record({ 'signature-input': headerValue })),
      h(
        fc.constantFrom<Record<string, string>>(
          {
            'signature-input': 'sig1=("@method");created=1;keyid="key_x";alg="hmac-sha256";tag="latchkey-v1"',
            signature: 'sig1=:AAAA:',
          },
          { 'signature-input': 'sig1=();created=99999999999', signature: 'sig1=:' },
          {
            'signature-input':
              'sig1=("@method" "@target-uri");created=1;expires=2;nonce="x";keyid="__proto__";alg="hmac-sha256";tag="latchkey-v1"',
            signature: 'sig1=:AAAA:',
          },
          { signature: 'sig1=:AAAA:' },
        ),
      ),
      // A well-formed signature by a key that does not exist (any clock skew), or by the real key over another request.
      fc.tuple(fc.boolean(), fc.integer({ min: -7200, max: 7200 })).map(([real, skew]) => ({ sign: { real, skew } })),
    );
    await fc.assert(
      fc.asyncProperty(route, cred, async (rt, c) => {
        const { path, opts } = wellFormed(rt, main, upstream);
        let headers: Record<string, string> = { ...(opts.headers ?? {}) };
        if ('sign' in c) {
          const apiKey = c.sign.real ? main.admin : `lk_app_${randomBytes(32).toString('hex')}`;
          const body = opts.json === undefined ? undefined : Buffer.from(JSON.stringify(opts.json));
          const signed = signRequest({
            method: rt.method,
            url: `${main.srv.baseUrl}${c.sign.real ? '/v1/somewhere-else' : path}`,
            headers: body ? { 'content-type': 'application/json' } : {},
            body,
            keyId: c.sign.real ? main.adminKeyId : `key_${randomBytes(12).toString('hex')}`,
            signingKey: deriveSigningKey(apiKey),
            now: Date.now() + c.sign.skew * 1000,
          });
          headers = { ...headers, ...signed };
        } else {
          headers = { ...headers, ...c.headers };
        }
        await rejected(main, rt.method, path, { ...opts, headers }, `credentials ${JSON.stringify(c).slice(0, 200)}`, {
          status: 401,
          code: 'unauthorized',
        });
      }),
      { numRuns: 200 },
    );
  });

  it('a signed request whose body was changed after signing is 401', async () => {
    const keyId = main.adminKeyId;
    const body = Buffer.from(JSON.stringify({ scopes: ['audit:read'] }));
    const signed = signRequest({
      method: 'POST',
      url: `${main.srv.baseUrl}/v1/keys`,
      headers: { 'content-type': 'application/json' },
      body,
      keyId,
      signingKey: deriveSigningKey(main.admin),
    });
    await rejected(
      main,
      'POST',
      '/v1/keys',
      { headers: signed, raw: JSON.stringify({ scopes: ['*'] }), contentType: 'application/json' },
      'tampered body',
      {
        status: 401,
        code: 'unauthorized',
      },
    );
  });
});

describe('fuzzed bodies', () => {
  it.each(BODY_ROUTES.map((r) => [r.name, r] as const))(
    '%s: arbitrary JSON, wrong types, missing and extra fields → typed 4xx, no state change',
    async (_n, route) => {
      const valid = route.body!.valid(main, upstream);
      await fc.assert(
        fc.asyncProperty(mutated(valid), async (candidate) => {
          const body = roundTrip(candidate);
          fc.pre(body !== undefined && rejects(route.body!.schema, body));
          const { path } = wellFormed(route, main, upstream);
          await rejected(
            main,
            route.method,
            path,
            { key: main.admin, raw: JSON.stringify(body), contentType: 'application/json' },
            `body ${JSON.stringify(body).slice(0, 300)}`,
            {
              proxy: route.proxy,
            },
          );
        }),
        { numRuns: RUNS },
      );
    },
  );

  it.each(BODY_ROUTES.map((r) => [r.name, r] as const))(
    '%s: malformed JSON → 400 invalid_request, no state change',
    async (_n, route) => {
      const valid = JSON.stringify(route.body!.valid(main, upstream));
      const malformed = fc.oneof(
        fc.string({ minLength: 1 }),
        fc.string({ unit: 'binary', minLength: 1 }),
        fc.integer({ min: 1, max: valid.length - 1 }).map((n) => valid.slice(0, n)),
        fc.constantFrom(
          '{',
          '}',
          '{"a":}',
          "{'a': 1}",
          '{"a": 1,}',
          '[1, 2',
          'NaN',
          'undefined',
          '{"a": undefined}',
          '\u0000',
          '\ufeff{}x',
          '{"a": "\\uZZZZ"}',
          '{"a": 01}',
          `${valid} trailing`,
          `${valid}${valid}`,
          '{"__proto__": {"polluted": "yes"}}',
          '{"constructor": {"prototype": {"polluted": "yes"}}}',
          `{"a": {"__proto__": {"polluted": "yes"}}, "b": 1}`,
        ),
      );
      await fc.assert(
        fc.asyncProperty(malformed, async (text) => {
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            parsed = Symbol('invalid');
          }
          fc.pre(typeof parsed === 'symbol' || rejects(route.body!.schema, parsed));
          const { path } = wellFormed(route, main, upstream);
          await rejected(
            main,
            route.method,
            path,
            { key: main.admin, raw: text, contentType: 'application/json' },
            `text ${JSON.stringify(text.slice(0, 200))}`,
            { proxy: route.proxy },
          );
        }),
        { numRuns: 60 },
      );
      expect(Object.getOwnPropertyNames(Object.prototype)).toEqual(protoKeysBefore);
      expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    },
  );

  it.each(BODY_ROUTES.map((r) => [r.name, r] as const))(
    '%s: the valid body under a wrong content type → typed 4xx, no state change',
    async (_n, route) => {
      const valid = JSON.stringify(route.body!.valid(main, upstream));
      const ct = fc.constantFrom(
        undefined,
        'text/plain',
        'text/plain; charset=utf-8',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=xyz',
        'application/xml',
        'application/octet-stream',
        'application/jsonx',
        'text/json',
        'application/vnd.api+json',
        'application/',
        'json',
        ';;;',
        'image/png',
      );
      await fc.assert(
        fc.asyncProperty(ct, async (contentType) => {
          const { path } = wellFormed(route, main, upstream);
          await rejected(
            main,
            route.method,
            path,
            { key: main.admin, raw: new TextEncoder().encode(valid), contentType },
            `content-type ${String(contentType)}`,
            { proxy: route.proxy },
          );
        }),
        { numRuns: 30 },
      );
    },
  );

  it.each(BODY_ROUTES.map((r) => [r.name, r] as const))(
    '%s: bodies over LATCHKEY_MAX_BODY_BYTES → 413 payload_too_large, no state change',
    async (_n, route) => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 4097, max: 64 * 1024 }),
          fc.boolean(),
          fc.boolean(),
          async (size, chunked, authed) => {
            const base = route.body!.valid(small, upstream);
            const field = Object.keys(base)[0]!;
            const doc = JSON.stringify(withKey(base, field, 'x'.repeat(size)));
            const bytes = new TextEncoder().encode(doc);
            const raw = chunked
              ? new ReadableStream<Uint8Array>({
                  start(c) {
                    for (let i = 0; i < bytes.length; i += 1000) c.enqueue(bytes.subarray(i, i + 1000));
                    c.close();
                  },
                })
              : bytes;
            const { path } = wellFormed(route, small, upstream);
            await rejected(
              small,
              route.method,
              path,
              { key: authed ? small.admin : null, raw, contentType: 'application/json' },
              `size ${size} chunked ${chunked}`,
              {
                status: 413,
                code: 'payload_too_large',
              },
            );
          },
        ),
        { numRuns: 20 },
      );
    },
  );

  it('deeply nested JSON is refused without a 5xx on every body route', async () => {
    for (const route of BODY_ROUTES) {
      const { path } = wellFormed(route, main, upstream);
      for (const depth of [1_000, 50_000]) {
        const nested = `${'['.repeat(depth)}${']'.repeat(depth)}`;
        // The proxy envelope names a grant that does not exist, so even an accepted shape goes nowhere.
        const valid =
          route.name === 'proxyRequest'
            ? { ...route.body!.valid(main, upstream), grant_id: randomUUID() }
            : route.body!.valid(main, upstream);
        const field = route.name === 'proxyRequest' ? 'json' : Object.keys(valid)[0]!;
        const rest = JSON.stringify({ ...valid, [field]: undefined }).slice(1, -1);
        const text = `{"${field}":${nested}${rest ? `,${rest}` : ''}}`;
        await rejected(
          main,
          route.method,
          path,
          { key: main.admin, raw: text, contentType: 'application/json' },
          `depth ${depth}`,
          { proxy: route.proxy },
        );
      }
    }
  });
});

describe('fuzzed path parameters and query strings', () => {
  it.each(PARAM_ROUTES.map((r) => [r.name, r] as const))(
    '%s: invalid or unknown ids → typed 4xx, no state change',
    async (_n, route) => {
      await fc.assert(
        fc.asyncProperty(badId, async (id) => {
          fc.pre(id !== realParam(main, route.param));
          const { path, opts } = wellFormed(route, main, upstream, encodeURIComponent(id));
          await rejected(
            main,
            route.method,
            path,
            { ...opts, key: main.admin },
            `id ${JSON.stringify(id.slice(0, 100))}`,
          );
        }),
        { numRuns: 100 },
      );
    },
  );

  it('ids of another kind of object, and other objects of the same kind, are 404', async () => {
    await rejected(
      main,
      'GET',
      `/v1/managed-secrets/ms_${randomBytes(12).toString('hex')}`,
      { key: main.admin },
      'unknown secret',
      { status: 404, code: 'managed_secret_not_found' },
    );
    await rejected(main, 'GET', `/v1/grants/${randomUUID()}`, { key: main.admin }, 'unknown grant', {
      status: 404,
      code: 'grant_not_found',
    });
    await rejected(
      main,
      'POST',
      `/v1/keys/key_${randomBytes(12).toString('hex')}/revoke`,
      { key: main.admin },
      'unknown key',
      { status: 404, code: 'key_not_found' },
    );
    // Objects of the other server's app (another install) do not exist here.
    await rejected(main, 'DELETE', `/v1/managed-secrets/${small.bearerId}`, { key: main.admin }, 'foreign secret', {
      status: 404,
    });
    await rejected(main, 'POST', `/v1/grants/${small.grantId}/revoke`, { key: main.admin, json: {} }, 'foreign grant', {
      status: 404,
    });
    await rejected(main, 'POST', `/v1/keys/${small.spareKeyId}/revoke`, { key: main.admin }, 'foreign key', {
      status: 404,
    });
    await rejected(
      main,
      'POST',
      `/v1/managed-secrets/${main.grantId}/rotate`,
      { key: main.admin, json: { value: 'x' } },
      'grant id as secret id',
      { status: 400 },
    );
  });

  it.each(QUERY_ROUTES.map((r) => [r.name, r] as const))(
    '%s: invalid query parameters → 400 invalid_request',
    async (_n, route) => {
      const shape = (route.query as unknown as { shape: Record<string, unknown> }).shape;
      const keys = Object.keys(shape);
      for (const q of [
        'limit=0',
        'limit=501',
        'limit=-1',
        'limit=abc',
        'limit=1.5',
        'limit=',
        'limit=1&limit=2',
        ...(keys.includes('offset') ? ['offset=-1', 'offset=x'] : ['cursor=abc', 'cursor=-1', 'since=yesterday']),
      ]) {
        await rejected(main, 'GET', `${route.path}?${q}`, { key: main.admin }, q, {
          status: 400,
          code: 'invalid_request',
        });
      }
      await fc.assert(
        fc.asyncProperty(queryArb(keys), async (q) => {
          fc.pre(rejects(route.query!, q));
          await rejected(
            main,
            'GET',
            `${route.path}?${toSearch(q)}`,
            { key: main.admin },
            `query ${JSON.stringify(q).slice(0, 200)}`,
            { status: 400, code: 'invalid_request' },
          );
        }),
        { numRuns: 100 },
      );
    },
  );
});

describe('service-level refusals of well-typed input', () => {
  it('createManagedSecret with a taken slug is refused whatever else the body holds', async () => {
    const arb = fc.record(
      {
        slug: fc.constant(main.bearerSlug),
        name: fc.string({ minLength: 1, maxLength: 20 }),
        type: fc.constantFrom('bearer', 'api_key', 'basic', 'custom'),
        template_id: fc.constantFrom('openai', 'stripe', 'github', 'custom', 'nope', 'a'),
        value: fc.oneof(
          fc.constantFrom(CANARY, ` ${CANARY}`, `${CANARY}\n`),
          fc.constant({ username: `u${CANARY}`, password: CANARY }),
          fc.constant({ token: CANARY }),
          fc.constant({ other: CANARY }),
        ),
        injection: fc.oneof(
          fc.constant({ header: 'x-api-key', format: 'Key {token}' }),
          fc.constant({ header: 'x-api-key', format: '{token}{token}' }),
          fc.constant({ headers: [{ name: 'x-a', format: '{token}' }] }),
          fc.constant({ headers: [{ name: 'Host', format: '{token}' }] }),
          fc.constant({ query: [{ name: 'k', format: '{missing}' }] }),
          fc.constant({}),
        ),
        allowed_hosts: fc.array(
          fc.constantFrom(
            'api.example.com',
            '*.example.com',
            '127.0.0.1',
            '[::1]:443',
            '*.com',
            'localhost',
            'a.b:99999',
          ),
          { minLength: 1, maxLength: 3 },
        ),
      },
      { requiredKeys: ['slug', 'value'] },
    );
    await fc.assert(
      fc.asyncProperty(arb, async (body) => {
        fc.pre(!rejects(CreateSecretBody, body));
        const { r } = await rejected(
          main,
          'POST',
          '/v1/managed-secrets',
          { key: main.admin, json: body },
          `body ${JSON.stringify(body).slice(0, 300)}`,
        );
        expect(r.text).not.toContain(CANARY);
      }),
      { numRuns: RUNS },
    );
  });

  it('createManagedSecretGrant refuses user/group principals and contradictory policies', async () => {
    const ttl = fc.integer({ min: 1, max: 10 * 365 * 86_400 });
    const arb = fc.oneof(
      beyondYear9999.map((t) => ({ principal: { type: 'system' }, grant_policy: { expires_at: t } })),
      fc.record({
        principal: fc.record(
          {
            type: fc.constantFrom('user', 'group'),
            label: fc.constant('x'),
            user_token: fc.string(),
            external_group_id: fc.string(),
          },
          { requiredKeys: ['type'] },
        ),
      }),
      fc
        .tuple(ttl, ttl)
        .filter(([d, m]) => d > m)
        .map(([d, m]) => ({
          principal: { type: 'system' },
          grant_policy: { default_ttl_seconds: d, max_ttl_seconds: m },
        })),
      fc
        .date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date(Date.now() - 1000), noInvalidDate: true })
        .map((d) => ({ principal: { type: 'agent' }, grant_policy: { expires_at: d.toISOString() } })),
      fc.tuple(fc.integer({ min: 1, max: 3600 }), fc.integer({ min: 7200, max: 86_400 * 365 })).map(([m, ahead]) => ({
        principal: { type: 'system' },
        grant_policy: { max_ttl_seconds: m, expires_at: new Date(Date.now() + ahead * 1000).toISOString() },
      })),
    );
    await fc.assert(
      fc.asyncProperty(arb, async (body) => {
        fc.pre(!rejects(CreateGrantBody, body));
        await rejected(
          main,
          'POST',
          `/v1/managed-secrets/${main.bearerId}/grants`,
          { key: main.admin, json: body },
          `body ${JSON.stringify(body)}`,
        );
      }),
      { numRuns: RUNS },
    );
    // Well-typed grants on a secret that does not exist.
    await rejected(
      main,
      'POST',
      `/v1/managed-secrets/ms_${randomBytes(12).toString('hex')}/grants`,
      { key: main.admin, json: { principal: { type: 'system' } } },
      'missing secret',
      {
        status: 404,
        code: 'managed_secret_not_found',
      },
    );
  });

  it('mintKey refuses expiry in the past, past year 9999 (UTC) and CIDRs that do not parse', async () => {
    const past = fc
      .date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date(Date.now() - 1000), noInvalidDate: true })
      .map((d) => ({ scopes: ['audit:read'], expires_at: d.toISOString() }));
    const far = beyondYear9999.map((t) => ({ scopes: ['audit:read'], expires_at: t }));
    const cidrs = fc
      .array(fc.stringMatching(/^[0-9a-fA-F:.]{1,20}\/\d{1,3}$/), { minLength: 1, maxLength: 3 })
      .map((c) => ({ scopes: ['audit:read'], cidrs: ['10.0.0.0/8', ...c] }));
    await fc.assert(
      fc.asyncProperty(fc.oneof(past, far, cidrs), async (body) => {
        fc.pre(!rejects(MintKeyBody, body));
        fc.pre(!('cidrs' in body) || body.cidrs.some((c) => !isCidr(c)));
        await rejected(main, 'POST', '/v1/keys', { key: main.admin, json: body }, JSON.stringify(body), {
          status: 400,
          code: 'invalid_request',
        });
      }),
      { numRuns: RUNS },
    );
  });

  it('writes on a deleted-looking or revoked object do not change it', async () => {
    // Revoking the already-revoked grant with a bad body is refused before anything happens.
    await rejected(
      main,
      'POST',
      `/v1/grants/${main.revokedGrantId}/revoke`,
      { key: main.admin, json: { reason: 'x'.repeat(501) } },
      'long reason',
      { status: 400 },
    );
    await rejected(
      main,
      'PATCH',
      `/v1/managed-secrets/${main.bearerId}`,
      { key: main.admin, json: { allowed_hosts: [] } },
      'empty hosts',
      { status: 400 },
    );
    await rejected(
      main,
      'PATCH',
      `/v1/managed-secrets/${main.bearerId}`,
      { key: main.admin, json: { allowed_hosts: ['*.com'] } },
      'public suffix wildcard',
      { status: 400 },
    );
    await rejected(
      main,
      'PATCH',
      `/v1/managed-secrets/${main.bearerId}`,
      { key: main.admin, json: { name: '   ' } },
      'blank name',
      { status: 400 },
    );
  });
});

describe('secret-shaped bad input is never echoed', () => {
  const createCases = (): [string, Record<string, unknown>][] => [
    [
      'bearer with an object value',
      { slug: 'c-1', type: 'bearer', value: { username: 'u', password: CANARY }, allowed_hosts: ['api.example.com'] },
    ],
    [
      'bearer with an array value',
      { slug: 'c-1', type: 'bearer', value: [CANARY], allowed_hosts: ['api.example.com'] },
    ],
    [
      'bearer with a control character',
      { slug: 'c-1', type: 'bearer', value: `${CANARY}\n`, allowed_hosts: ['api.example.com'] },
    ],
    [
      'bearer with surrounding whitespace',
      { slug: 'c-1', type: 'bearer', value: ` ${CANARY} `, allowed_hosts: ['api.example.com'] },
    ],
    [
      'bearer too long',
      { slug: 'c-1', type: 'bearer', value: CANARY + 'x'.repeat(17_000), allowed_hosts: ['api.example.com'] },
    ],
    ['basic with a string value', { slug: 'c-1', type: 'basic', value: CANARY, allowed_hosts: ['api.example.com'] }],
    [
      'basic with ":" in the username',
      {
        slug: 'c-1',
        type: 'basic',
        value: { username: `a:${CANARY}`, password: CANARY },
        allowed_hosts: ['api.example.com'],
      },
    ],
    [
      'basic with an extra field',
      {
        slug: 'c-1',
        type: 'basic',
        value: { username: 'u', password: CANARY, extra: CANARY },
        allowed_hosts: ['api.example.com'],
      },
    ],
    [
      'custom without the injected field',
      {
        slug: 'c-1',
        type: 'custom',
        value: { other: CANARY },
        injection: { headers: [{ name: 'x-a', format: '{token}' }] },
        allowed_hosts: ['api.example.com'],
      },
    ],
    [
      'custom with a control character',
      {
        slug: 'c-1',
        type: 'custom',
        value: { token: `${CANARY}\u0007` },
        injection: { headers: [{ name: 'x-a', format: '{token}' }] },
        allowed_hosts: ['api.example.com'],
      },
    ],
    [
      'custom with a non-string field',
      {
        slug: 'c-1',
        type: 'custom',
        value: { token: CANARY, n: 1 },
        injection: { headers: [{ name: 'x-a', format: '{token}' }] },
        allowed_hosts: ['api.example.com'],
      },
    ],
    ['api_key without a header', { slug: 'c-1', type: 'api_key', value: CANARY, allowed_hosts: ['api.example.com'] }],
    ['no type and no template', { slug: 'c-1', value: CANARY, allowed_hosts: ['api.example.com'] }],
    ['unknown template', { slug: 'c-1', template_id: 'nope', value: CANARY, allowed_hosts: ['api.example.com'] }],
    ['bad slug', { slug: 'Bad Slug!', type: 'bearer', value: CANARY, allowed_hosts: ['api.example.com'] }],
    ['no allowed hosts', { slug: 'c-1', type: 'bearer', value: CANARY }],
    ['bad allowed hosts', { slug: 'c-1', type: 'bearer', value: CANARY, allowed_hosts: ['http://x/'] }],
    [
      'unknown field',
      { slug: 'c-1', type: 'bearer', value: CANARY, secret: CANARY, allowed_hosts: ['api.example.com'] },
    ],
    ['taken slug', { slug: 'bearer-one', type: 'bearer', value: CANARY, allowed_hosts: ['api.example.com'] }],
    [
      'value as a number-ish string in a number field',
      { slug: 'c-1', type: 'bearer', value: CANARY, name: 5, allowed_hosts: ['api.example.com'] },
    ],
  ];

  it.each(createCases())('create: %s → 4xx without the value', async (_n, body) => {
    for (const fx of [main, small]) {
      const { r } = await rejected(fx, 'POST', '/v1/managed-secrets', { key: fx.admin, json: body }, _n);
      expect(r.text).not.toContain(CANARY);
      expect(r.text).not.toContain(CANARY.slice(7));
    }
  });

  const rotateCases = (): [string, 'bearerId' | 'basicId' | 'customId', unknown][] => [
    ['bearer ← object', 'bearerId', { username: 'u', password: CANARY }],
    ['bearer ← custom map', 'bearerId', { token: CANARY }],
    ['bearer ← control character', 'bearerId', `${CANARY}\r\n`],
    ['bearer ← whitespace', 'bearerId', `\t${CANARY}`],
    ['bearer ← too long', 'bearerId', CANARY.repeat(1000)],
    ['bearer ← empty', 'bearerId', ''],
    ['bearer ← null', 'bearerId', null],
    ['basic ← string', 'basicId', CANARY],
    ['basic ← ":" in username', 'basicId', { username: `x:${CANARY}`, password: CANARY }],
    ['basic ← control character', 'basicId', { username: 'u', password: `${CANARY}\u0000` }],
    ['custom ← missing field', 'customId', { token: CANARY }],
    ['custom ← bad field name', 'customId', { Token: CANARY, account: CANARY }],
    ['custom ← non-string field', 'customId', { token: CANARY, account: 7 }],
  ];

  it.each(rotateCases())('rotate: %s → 4xx without the value, version unchanged', async (_n, which, value) => {
    const { r } = await rejected(
      main,
      'POST',
      `/v1/managed-secrets/${main[which]}/rotate`,
      { key: main.admin, json: { value } },
      _n,
    );
    expect(r.text).not.toContain(CANARY);
    const { r: r2 } = await rejected(
      main,
      'POST',
      `/v1/managed-secrets/${main[which]}/rotate`,
      { key: main.admin, json: { value, extra: CANARY } },
      `${_n} + extra field`,
    );
    expect(r2.text).not.toContain(CANARY);
  });

  it('rotate: fuzzed canary-bearing values of the wrong shape are never echoed', async () => {
    const canaryJson: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
      v: fc.oneof(
        { depthSize: 'small' },
        fc.constant(CANARY),
        fc.string().map((s) => `${s}${CANARY}${s}`),
        fc.array(tie('v'), { minLength: 1, maxLength: 3 }),
        fc.dictionary(
          fc.oneof(fc.constantFrom('username', 'password', 'token', 'account'), fc.string({ maxLength: 8 })),
          tie('v'),
          { minKeys: 1, maxKeys: 3 },
        ),
      ),
    })).v;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<'bearerId' | 'basicId' | 'customId'>('bearerId', 'basicId', 'customId'),
        canaryJson,
        async (which, value) => {
          // Only shapes the secret's type refuses: a string for bearer is a real rotation.
          fc.pre(
            !(
              which === 'bearerId' &&
              typeof value === 'string' &&
              value === value.trim() &&
              !/[\u0000-\u001f\u007f]/.test(value) &&
              value.length <= 16_384
            ),
          );
          fc.pre(
            !(
              which === 'basicId' &&
              rejects(RotateSecretBody, { value }) === false &&
              typeof value === 'object' &&
              value !== null &&
              !Array.isArray(value) &&
              Object.keys(value).sort().join() === 'password,username'
            ),
          );
          fc.pre(
            !(
              which === 'customId' &&
              !rejects(RotateSecretBody, { value }) &&
              typeof value === 'object' &&
              value !== null &&
              'token' in value &&
              'account' in value
            ),
          );
          const { r } = await rejected(
            main,
            'POST',
            `/v1/managed-secrets/${main[which]}/rotate`,
            { key: main.admin, json: { value } },
            `${which} ${JSON.stringify(value).slice(0, 200)}`,
          );
          expect(r.text).not.toContain(CANARY);
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe('proxy front doors', () => {
  it('/v1/forward: fuzzed latchkey-* headers, methods and bodies → typed 4xx, only denial audit rows, upstream never called', async () => {
    const target = fc.oneof(
      headerValue,
      fc.constantFrom(
        'ftp://example.com/',
        'file:///etc/passwd',
        'javascript:alert(1)',
        'http://user:pw@127.0.0.2/',
        'http://169.254.169.254/latest/meta-data/',
        'http://[::1]/',
        'http://0x7f.1/',
        'https://api.example.com/v1',
        '//127.0.0.2/x',
        '/relative',
        'http://',
        'http://127.0.0.2:1/',
      ),
      fc.webUrl({ withQueryParameters: true, withFragments: true }),
    );
    const grant = fc.oneof(
      fc.constant(undefined),
      fc.uuid(),
      fc.constantFrom(
        '',
        'null',
        '00000000-0000-0000-0000-000000000000',
        'not-a-uuid',
        `${'a'.repeat(8)}-aaaa-aaaa-aaaa-${'a'.repeat(12)}`,
      ),
      fc.constantFrom('real', 'revoked', 'upper'),
      headerValue,
    );
    // JSON with every non-ASCII character \u-escaped: still the same JSON, and a valid header value.
    const asciiJson = (v: unknown) =>
      (JSON.stringify(v) ?? 'undefined').replace(
        /[^\x20-\x7e]/g,
        (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
      );
    const context = fc.oneof(
      fc.constant(undefined),
      headerValue,
      anyJson.map(asciiJson),
      fc.dictionary(fc.string(), fc.oneof(fc.string(), anyJson), { maxKeys: 25 }).map(asciiJson),
    );
    const method = fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS');
    const body = fc.option(fc.string({ maxLength: 200 }), { nil: undefined });
    await fc.assert(
      fc.asyncProperty(target, grant, context, method, body, headerValue, async (t, g, c, m, b, extra) => {
        const grantId =
          g === 'real'
            ? main.grantId
            : g === 'revoked'
              ? main.revokedGrantId
              : g === 'upper'
                ? main.grantId.toUpperCase()
                : g;
        let contextOk = c === undefined;
        if (c !== undefined) {
          try {
            const v = JSON.parse(c) as unknown;
            contextOk = v !== null && typeof v === 'object' && !Array.isArray(v) && !rejects(Context, v);
          } catch {
            contextOk = false;
          }
        }
        let reachable = false;
        try {
          reachable = new URL(t).host === `${upstream.host}:${upstream.port}`;
        } catch {
          /* not a URL */
        }
        fc.pre(!(g === 'real' && contextOk && reachable));
        const headers: Record<string, string> = {
          'latchkey-reason': extra,
          'latchkey-run-id': extra.slice(0, 100),
          'x-custom': 'x',
        };
        if (t !== undefined) headers['latchkey-target'] = t;
        if (grantId !== undefined) headers['latchkey-grant-id'] = grantId;
        if (c !== undefined) headers['latchkey-context'] = c;
        const opts: CallOpts = { key: main.admin, headers };
        if (b !== undefined && m !== 'GET' && m !== 'HEAD') {
          opts.raw = b;
          opts.contentType = 'application/json';
        }
        await rejected(
          main,
          m,
          '/v1/forward',
          opts,
          `${m} target=${JSON.stringify(t)} grant=${String(grantId)} ctx=${String(c).slice(0, 100)}`,
          { proxy: true },
        );
      }),
      { numRuns: 200 },
    );
  });

  it('/v1/proxy: well-typed envelopes for unknown grants or unreachable targets → typed 4xx, upstream never called', async () => {
    const headerName = fc.oneof(
      fc.string({ maxLength: 20 }),
      fc.constantFrom('authorization', 'host', 'content-length', 'transfer-encoding', 'x-ok'),
    );
    const env = fc.record(
      {
        method: fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'),
        url: fc.oneof(
          fc.webUrl({ withQueryParameters: true, withFragments: true }),
          fc.constantFrom(
            'http://127.0.0.2:1/{a}',
            'https://api.example.com/{id}/x',
            '{scheme}://x',
            'ftp://x/',
            'http://u:p@x/',
            'relative/path',
            'http://169.254.169.254/',
          ),
          fc.string({ minLength: 1, maxLength: 100 }),
        ),
        grant_id: fc.oneof(fc.uuid(), fc.constantFrom('real', 'revoked')),
        headers: fc.dictionary(headerName, fc.string({ maxLength: 40 }), { maxKeys: 3 }),
        query_params: fc.dictionary(
          fc.string({ maxLength: 10 }),
          fc.oneof(fc.string({ maxLength: 20 }), fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 })),
          { maxKeys: 3 },
        ),
        path_params: fc.dictionary(
          fc.oneof(fc.constantFrom('a', 'id', 'scheme'), fc.string({ maxLength: 5 })),
          fc.string({ maxLength: 20 }),
          { maxKeys: 2 },
        ),
        json: anyJson,
        body_b64: fc.oneof(fc.base64String({ maxLength: 40 }), fc.string({ maxLength: 20 })),
        reason: fc.string({ maxLength: 50 }),
        context: fc.dictionary(fc.string({ minLength: 1, maxLength: 10 }), fc.string({ maxLength: 20 }), {
          maxKeys: 3,
        }),
      },
      { requiredKeys: ['method', 'url', 'grant_id'] },
    );
    await fc.assert(
      fc.asyncProperty(env, async (e) => {
        const body = roundTrip({
          ...e,
          grant_id: e.grant_id === 'real' ? main.grantId : e.grant_id === 'revoked' ? main.revokedGrantId : e.grant_id,
        }) as Record<string, unknown>;
        if (e.grant_id === 'real') {
          // With the live grant, only targets the credential is not bound to (the upstream is never reachable here).
          let reachable = true;
          try {
            const path = (body['path_params'] ?? {}) as Record<string, string>;
            const filled = String(body['url']).replace(/\{([A-Za-z_][A-Za-z0-9_]{0,63})\}/g, (_m, n: string) =>
              encodeURIComponent(path[n] ?? ''),
            );
            reachable = new URL(filled).host === `${upstream.host}:${upstream.port}`;
          } catch {
            reachable = false;
          }
          fc.pre(!reachable);
        }
        await rejected(
          main,
          'POST',
          '/v1/proxy',
          { key: main.admin, json: body },
          `envelope ${JSON.stringify(body).slice(0, 300)}`,
          { proxy: true },
        );
      }),
      { numRuns: 150 },
    );
  });

  it('/v1/proxy: request headers that cannot be sent (CR/LF, bad names) → 400, never a 5xx, upstream never called', async () => {
    const base = { method: 'GET', url: `${upstream.url}/h`, grant_id: main.grantId };
    const bad: Record<string, string>[] = [
      { 'x-a': 'b\r\nx-injected: 1' },
      { 'x-a': 'b\nc' },
      { 'x-a': 'nul\u0000' },
      { 'bad name': 'v' },
      { 'x(a)': 'v' },
      { '': 'v' },
      { 'x-a': 'caf\u00e9\u20ac' },
    ];
    for (const headers of bad) {
      await rejected(
        main,
        'POST',
        '/v1/proxy',
        { key: main.admin, json: { ...base, headers } },
        `headers ${JSON.stringify(headers)}`,
        { status: 400, code: 'invalid_request', proxy: true },
      );
    }
    await rejected(
      main,
      'POST',
      '/v1/proxy',
      { key: main.admin, json: { ...base, json: {}, body_b64: 'AA==' } },
      'json and body_b64',
      { status: 400, code: 'invalid_request', proxy: true },
    );
    await rejected(main, 'POST', '/v1/proxy', { key: main.admin, json: { ...base, body_b64: '***' } }, 'not base64', {
      status: 400,
      code: 'invalid_request',
      proxy: true,
    });
    await rejected(
      main,
      'POST',
      '/v1/proxy',
      { key: main.admin, json: { ...base, url: `${upstream.url}/{x}` } },
      'missing path param',
      { status: 400, code: 'invalid_request', proxy: true },
    );
    await rejected(
      main,
      'POST',
      '/v1/proxy',
      { key: main.admin, json: { ...base, path_params: { y: '1' } } },
      'unused path param',
      { status: 400, code: 'invalid_request', proxy: true },
    );
    await rejected(
      main,
      'POST',
      '/v1/proxy',
      { key: main.admin, json: { ...base, grant_id: main.revokedGrantId } },
      'revoked grant',
      { status: 403, code: 'grant_revoked', proxy: true },
    );
  });
});

describe('requests the HTTP parser refuses', () => {
  async function rawExchange(request: string | Buffer): Promise<string> {
    const { port } = new URL(main.srv.baseUrl);
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      const sock = net.connect(Number(port), '127.0.0.1', () => sock.end(request));
      sock.on('data', (c: Buffer) => chunks.push(c));
      sock.on('error', () => resolve(Buffer.concat(chunks).toString('latin1')));
      sock.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
      sock.setTimeout(5000, () => reject(new Error('raw exchange timed out')));
    });
  }

  function parseRaw(text: string): Res {
    const [head = '', ...rest] = text.split('\r\n\r\n');
    const [statusLine = '', ...lines] = head.split('\r\n');
    const headers = new Headers();
    for (const l of lines) {
      const i = l.indexOf(':');
      if (i > 0) headers.append(l.slice(0, i).trim(), l.slice(i + 1).trim());
    }
    return { method: 'RAW', status: Number(statusLine.split(' ')[1]), headers, text: rest.join('\r\n\r\n') };
  }

  it.each([
    ['oversized headers', `GET /v1/keys HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${'a'.repeat(20_000)}\r\n\r\n`],
    ['a malformed request line', 'GARBAGE\r\n\r\n'],
    ['a bad header line', 'GET /v1/keys HTTP/1.1\r\nhost: x\r\nno colon here\r\n\r\n'],
    [
      'conflicting framing',
      'POST /v1/keys HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n',
    ],
    ['a bad content-length', 'POST /v1/keys HTTP/1.1\r\nhost: x\r\ncontent-length: -1\r\n\r\n'],
  ])('%s → typed 400, no state change', async (_n, request) => {
    const before = await snapshot(main, upstream);
    const r = parseRaw(await rawExchange(request));
    expectTypedError(r, _n, { status: 400, code: 'invalid_request' });
    await expectNoStateChange(main, upstream, before, _n);
  });
});

describe('after the fuzzing', () => {
  it('the list endpoints show the same state as before', async () => {
    expect(await apiSnapshot(main)).toEqual(apiBefore);
  });

  it('both servers are healthy, nothing was polluted, and no log line or audit row holds the canary', async () => {
    for (const fx of [main, small]) {
      const h = await fetch(`${fx.srv.baseUrl}/healthz`);
      expect(h.status).toBe(200);
      const ready = await fetch(`${fx.srv.baseUrl}/readyz`);
      expect(ready.status).toBe(200);
      expect(fx.srv.logs.join('\n')).not.toContain(CANARY);
      const rows = await fx.srv.lk.store.db.selectFrom('audit_events').select(['record']).execute();
      expect(rows.length).toBeGreaterThan(0);
      expect(rows.some((r) => r.record.includes(CANARY))).toBe(false);
      const verify = await send(fx.srv.baseUrl, 'GET', '/v1/audit/verify', { key: fx.admin });
      expect(verify.status).toBe(200);
      expect((JSON.parse(verify.text) as { ok: boolean }).ok, verify.text).toBe(true);
    }
    expect(Object.getOwnPropertyNames(Object.prototype)).toEqual(protoKeysBefore);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(upstream.seen).toEqual([]);
  });
});
