/**
 * A real third-party HTTP server from npm that checks a credential on its own: `http-server` with HTTP
 * Basic authentication (RFC 7617), reached through the SDK's `request()` and `proxyRequest()`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { App, LatchkeyError } from '@latchkey/sdk';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startServer, type TestServer } from './helpers/server.js';

const repoRoot = path.resolve(import.meta.dirname, '../../..');
const USER = 'reports';
const PASS = 'third-party-CANARY-7f3a9c2e';
let child: ChildProcess;
let port: number;
let s: TestServer;
let app: App;
let grantId: string;
let secretId: string;

async function freePort(host: string): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, host, () => {
      const p = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(p));
    });
  });
}

beforeAll(async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'latchkey-3p-'));
  fs.writeFileSync(path.join(root, 'report.json'), JSON.stringify({ revenue: 42 }));
  port = await freePort('127.0.0.2');
  child = spawn(
    process.execPath,
    [
      path.join(repoRoot, 'node_modules/http-server/bin/http-server'),
      root,
      '-a',
      '127.0.0.2',
      '-p',
      String(port),
      '-s',
      '-c-1',
    ],
    {
      env: { ...process.env, NODE_HTTP_SERVER_USERNAME: USER, NODE_HTTP_SERVER_PASSWORD: PASS },
      stdio: 'ignore',
    },
  );
  for (let i = 0; i < 100; i++) {
    const ok = await fetch(`http://127.0.0.2:${port}/report.json`).then(
      (r) => r.status,
      () => 0,
    );
    if (ok === 401) break; // up, and refusing unauthenticated requests on its own
    await new Promise((r) => setTimeout(r, 100));
  }
  s = await startServer({ LATCHKEY_EGRESS_ALLOW_HTTP_HOSTS: '127.0.0.2' });
  app = new App({ apiKey: s.appKey, baseUrl: s.baseUrl });
  const secret = await app.managedSecrets.create({
    slug: 'reports',
    type: 'basic',
    value: { username: USER, password: PASS },
    allowedHosts: [`127.0.0.2:${port}`],
  });
  secretId = secret.id;
  grantId = (await app.createManagedSecretGrant(secret.id, { principal: { type: 'system' } })).grantId;
});

afterAll(async () => {
  child?.kill();
  await s?.close();
});

test('http-server refuses a request without the credential (the check is real)', async () => {
  expect((await fetch(`http://127.0.0.2:${port}/report.json`)).status).toBe(401);
});

test('request() reaches http-server with the injected basic credential', async () => {
  const res = await app.request('GET', `http://127.0.0.2:${port}/report.json`, { grantId });
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ revenue: 42 });
});

test('proxyRequest() reaches http-server with the injected basic credential', async () => {
  const r = await app.proxyRequest({
    method: 'GET',
    url: `http://127.0.0.2:${port}/{file}`,
    pathParams: { file: 'report.json' },
    grantId,
  });
  expect(r.statusCode).toBe(200);
  expect(r.json()).toEqual({ revenue: 42 });
});

test('after rotating to a wrong password, http-server refuses, and a revoked grant is refused by Latchkey', async () => {
  await app.managedSecrets.rotate(secretId, { username: USER, password: 'wrong-password-123' });
  const res = await app.request('GET', `http://127.0.0.2:${port}/report.json`, { grantId });
  expect(res.status).toBe(401);
  await app.managedSecrets.rotate(secretId, { username: USER, password: PASS });
  expect((await app.request('GET', `http://127.0.0.2:${port}/report.json`, { grantId })).status).toBe(200);
  await app.revokeGrant(grantId, { reason: 'done' });
  const err = await app.request('GET', `http://127.0.0.2:${port}/report.json`, { grantId }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(LatchkeyError);
  expect((err as LatchkeyError).code).toBe('grant_revoked');
});
