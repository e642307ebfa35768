/**
 * A canary secret stored through every path (API, SDK, CLI; create, rotate, rejected input, calls that
 * inject it, an upstream that echoes it) never appears in an API response, an error, a log line, an
 * audit row, CLI output, or the stored data — the SQLite files (database, WAL), or on PostgreSQL (the
 * `postgres` test project) every row of every table, read before the database is dropped — in
 * plaintext or base64. On PostgreSQL the proxied calls go through the joined grant + secret read that
 * primes the credential cache.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { App } from '@latchkey/sdk';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startServer, type TestServer } from './helpers/server.js';
import { startUpstream, type Upstream } from './helpers/upstream.js';

const repoRoot = path.resolve(import.meta.dirname, '../../..');
const tag = randomBytes(6).toString('hex');
const canaries = {
  apiBearer: `CANARY-api-bearer-${tag}`,
  apiKey: `CANARY-api-key-${tag}`,
  basicPass: `CANARY-basic-pass-${tag}`,
  custom: `CANARY-custom-${tag}`,
  rotated: `CANARY-rotated-${tag}`,
  sdk: `CANARY-sdk-${tag}`,
  cli: `CANARY-cli-${tag}`,
  cliRotated: `CANARY-cli-rotated-${tag}`,
  rejected: `CANARY-rejected-${tag}`,
  gateway: `CANARY-gateway-${tag}`,
};
const all = Object.values(canaries);
const seenText: string[] = [];
let up: Upstream;
let s: TestServer;

async function call(method: string, p: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${s.baseUrl}${p}`, {
    method,
    headers: {
      authorization: `Bearer ${s.appKey}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  seenText.push(text, JSON.stringify([...res.headers]));
  return { status: res.status, json: text ? (JSON.parse(text) as any) : undefined };
}

async function cli(args: string[], stdin?: string) {
  const child = execFile(process.execPath, [path.join(repoRoot, 'packages/cli/bin/latchkey.mjs'), ...args], {
    env: { ...process.env, LATCHKEY_API_KEY: s.appKey, LATCHKEY_URL: s.baseUrl },
    timeout: 60_000,
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  child.stdin!.end(stdin ?? '');
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 1)));
  seenText.push(out, err);
  return { code, out, err };
}

beforeAll(async () => {
  up = await startUpstream((req, res) => {
    // A hostile upstream that echoes every request header back, in headers and body.
    res.writeHead(200, { 'content-type': 'application/json', 'x-echo': JSON.stringify(req.headers) });
    res.end(JSON.stringify({ headers: req.headers, url: req.url }));
  });
  s = await startServer({ LATCHKEY_EGRESS_ALLOW_HTTP_HOSTS: up.host });
});

afterAll(async () => {
  await s?.close();
  await up?.close();
});

test('a canary secret never leaks after it is stored', async () => {
  const hosts = [`${up.host}:${up.port}`];
  const created = [
    await call('POST', '/v1/managed-secrets', {
      slug: 'c-bearer',
      type: 'bearer',
      value: canaries.apiBearer,
      allowed_hosts: hosts,
    }),
    await call('POST', '/v1/managed-secrets', {
      slug: 'c-key',
      type: 'api_key',
      value: canaries.apiKey,
      injection: { header: 'X-Key', format: 'k={token}' },
      allowed_hosts: hosts,
    }),
    await call('POST', '/v1/managed-secrets', {
      slug: 'c-basic',
      type: 'basic',
      value: { username: 'user', password: canaries.basicPass },
      allowed_hosts: hosts,
    }),
    await call('POST', '/v1/managed-secrets', {
      slug: 'c-custom',
      type: 'custom',
      value: { a: canaries.custom },
      injection: { query: [{ name: 'k', format: '{a}' }] },
      allowed_hosts: hosts,
    }),
  ];
  for (const c of created) expect(c.status).toBe(201);
  expect(
    (await call('POST', `/v1/managed-secrets/${created[0]!.json.id}/rotate`, { value: canaries.rotated })).status,
  ).toBe(200);

  // Rejected input carrying the canary: the error must not quote it.
  for (const bad of [
    { slug: 'bad1', type: 'basic', value: canaries.rejected, allowed_hosts: hosts },
    { slug: 'bad2', type: 'bearer', value: { username: canaries.rejected, password: 'x' }, allowed_hosts: hosts },
    { slug: 'bad3', type: 'bearer', value: `${canaries.rejected}\n`, allowed_hosts: hosts },
    { slug: 'BAD SLUG', type: 'bearer', value: canaries.rejected, allowed_hosts: hosts },
    { slug: 'bad5', type: 'bearer', value: canaries.rejected, allowed_hosts: ['*'] },
  ]) {
    expect((await call('POST', '/v1/managed-secrets', bad)).status).toBe(400);
  }
  expect(
    (await call('POST', `/v1/managed-secrets/${created[1]!.json.id}/rotate`, { value: { a: canaries.rejected } }))
      .status,
  ).toBe(400);

  // SDK
  const app = new App({ apiKey: s.appKey, baseUrl: s.baseUrl });
  const sdkSecret = await app.managedSecrets.create({
    slug: 'c-sdk',
    type: 'bearer',
    value: canaries.sdk,
    allowedHosts: hosts,
  });
  seenText.push(JSON.stringify(sdkSecret), JSON.stringify(await app.managedSecrets.list()));

  // CLI (value on stdin, never argv)
  const cliCreate = await cli(
    ['secrets', 'create', '--slug', 'c-cli', '--type', 'bearer', '--allowed-host', hosts[0]!, '--json'],
    canaries.cli,
  );
  expect(cliCreate.code, cliCreate.err).toBe(0);
  const cliId = JSON.parse(cliCreate.out).id as string;
  expect((await cli(['secrets', 'rotate', cliId, '--json'], `${canaries.cliRotated}\n`)).code).toBe(0);
  expect((await cli(['secrets', 'list'])).code).toBe(0);

  // Calls that inject each credential into an upstream that echoes it back.
  const ids = [...created.map((c) => c.json.id as string), sdkSecret.id, cliId];
  for (const id of ids) {
    const g = await call('POST', `/v1/managed-secrets/${id}/grants`, { principal: { type: 'system' } });
    const p = await call('POST', '/v1/proxy', { method: 'GET', url: `${up.url}/echo`, grant_id: g.json.grant_id });
    expect(p.status).toBe(200);
    seenText.push(Buffer.from(p.json.body_b64, 'base64').toString('utf8'));
    const f = await fetch(`${s.baseUrl}/v1/forward`, {
      headers: {
        authorization: `Bearer ${s.appKey}`,
        'latchkey-target': `${up.url}/echo`,
        'latchkey-grant-id': g.json.grant_id,
      },
    });
    expect(f.status).toBe(200);
    // The forward body streams through unbuffered (documented); its headers are redacted.
    seenText.push(JSON.stringify([...f.headers]));
    await f.arrayBuffer();
    await call('GET', `/v1/managed-secrets/${id}`);
  }
  // The upstream did receive the real credentials (so the scan below can fail).
  const received = JSON.stringify(up.seen.map((r) => [r.headers, r.url]));
  expect(received).toContain(canaries.rotated);
  expect(received).toContain(canaries.cliRotated);
  expect(received).toContain(canaries.sdk);

  const audit = await call('GET', '/v1/audit?limit=500');
  expect(audit.json.events.length).toBeGreaterThan(20);
  await call('GET', '/v1/grants?limit=500');
  await call('GET', '/v1/keys');
  await call('GET', '/openapi.json');

  // Gateway mode: the stored credential is injected (and redacted when echoed in headers); the
  // caller's Latchkey key arrives in x-api-key and is removed before the upstream.
  const gw = await call('POST', '/v1/managed-secrets', {
    slug: 'c-gateway',
    type: 'bearer',
    value: canaries.gateway,
    allowed_hosts: hosts,
    base_url: `${up.url}/base`,
  });
  expect(gw.status).toBe(201);
  const gwGrant = await call('POST', `/v1/managed-secrets/${gw.json.id}/grants`, { principal: { type: 'system' } });
  const gwRes = await fetch(`${s.baseUrl}/gw/${gwGrant.json.grant_id}/v1/echo`, { headers: { 'x-api-key': s.appKey } });
  expect(gwRes.status).toBe(200);
  seenText.push(JSON.stringify([...gwRes.headers]));
  await gwRes.arrayBuffer();
  expect(JSON.stringify(up.seen.at(-1)!.headers)).toContain(canaries.gateway);
  expect(JSON.stringify(up.seen.at(-1)!.headers)).not.toContain(s.appKey);

  // An agent key is shown once: never again in a response, a log line or an audit row.
  const agent = await call('POST', '/v1/agents', { name: 'canary-bot', scopes: ['proxy:execute'] });
  expect(agent.status).toBe(201);
  const agentKey = agent.json.api_key as string;
  expect(agentKey).toMatch(/^lk_agent_/);
  await call('GET', '/v1/agents');
  await call('GET', `/v1/agents/${agent.json.agent.id}/keys`);

  // PostgreSQL (the `postgres` project): every row of every table, as text, before the database goes.
  const rows: [string, string][] = [];
  if (s.dialect === 'postgres') {
    const { db } = s.lk.store;
    const tables = await sql<{ name: string }>`
      SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public'`.execute(db);
    expect(tables.rows.map((t) => t.name)).toEqual(expect.arrayContaining(['managed_secrets', 'audit_events']));
    for (const { name } of tables.rows) {
      const r = await sql<{ row: string }>`SELECT row_to_json(t)::text AS row FROM ${sql.table(name)} t`.execute(db);
      rows.push([`table ${name}`, r.rows.map((x) => x.row).join('\n')]);
    }
    // The dump is the stored data: the secrets' metadata is there, and the proxied calls' audit rows.
    expect(rows.find(([w]) => w === 'table managed_secrets')![1]).toContain('c-bearer');
    expect(rows.find(([w]) => w === 'table audit_events')![1]).toContain('proxy.request.completed');
  }
  // Flush: stop the server so the WAL and logs are complete, then scan everything.
  await s.close();
  const files = fs.readdirSync(s.dataDir).map((f) => path.join(s.dataDir, f));
  expect(files.some((f) => f.endsWith('latchkey.db'))).toBe(s.dialect === 'sqlite');
  const haystacks: [string, string][] = [
    ['responses and CLI output', seenText.join('\n')],
    ['logs', s.logs.join('')],
    ...files.map((f): [string, string] => [`file ${path.basename(f)}`, fs.readFileSync(f).toString('latin1')]),
    ...rows,
  ];
  // The agent key was in exactly one response (its creation); drop that one before scanning.
  const afterCreation = seenText.filter((t) => !t.includes('"api_key"'));
  expect(afterCreation.join('\n')).not.toContain(agentKey);
  for (const [where, text] of haystacks.slice(1)) {
    expect(text.includes(agentKey), `${where} contains the agent key`).toBe(false);
    expect(text.includes(s.appKey), `${where} contains the app key`).toBe(false);
  }
  for (const [where, text] of haystacks) {
    for (const c of all) {
      expect(text.includes(c), `${where} contains a canary`).toBe(false);
      expect(text.includes(Buffer.from(c).toString('base64')), `${where} contains a base64 canary`).toBe(false);
    }
  }
  expect(s.logs.length).toBeGreaterThan(10);
});
