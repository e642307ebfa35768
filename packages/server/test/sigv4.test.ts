/**
 * AWS Signature V4 against a real S3-compatible server that verifies signatures: `@20minutes/s3rver`
 * (in-process, on 127.0.0.2, its default `allowMismatchedSignatures: false`), reached through
 * `/v1/forward` and `/v1/proxy` with an `aws_sigv4` managed secret.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import { App } from '@latchkey/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api } from './helpers/api.js';
import { startServer, type TestServer } from './helpers/server.js';
import { startS3rver, type S3rverHandle } from './helpers/s3rver.js';
import { startUpstream, type Upstream } from './helpers/upstream.js';

const KEY_ID = 'AKIALATCHKEYSIGV4E2E';
const SECRET = 'sigv4-e2e-CANARY/Fq8u2Zb6Wc0Y+Ke3Ud7NhTjLxRvAm';
const BUCKET = 'reports';

let s3: S3rverHandle;
let s: TestServer;
let app: App;
let secretId: string;
let grantId: string;
let base: string;

beforeAll(async () => {
  s3 = await startS3rver({ [KEY_ID]: SECRET }, [BUCKET]);
  base = `http://127.0.0.2:${s3.port}`;
  s = await startServer({ LATCHKEY_EGRESS_ALLOW_HTTP_HOSTS: '127.0.0.2' });
  app = new App({ apiKey: s.appKey, baseUrl: s.baseUrl });
  const secret = await app.managedSecrets.create({
    slug: 's3rver',
    type: 'aws_sigv4',
    value: { access_key_id: KEY_ID, secret_access_key: SECRET },
    injection: { region: 'us-east-1', service: 's3' },
    allowedHosts: [`127.0.0.2:${s3.port}`],
  });
  secretId = secret.id;
  grantId = (await app.createManagedSecretGrant(secret.id, { principal: { type: 'system' } })).grantId;
});

afterAll(async () => {
  await s?.close();
  await s3?.close();
});

describe('aws_sigv4 managed secrets', () => {
  it('store the key pair write-only: last4 of the key id, never of the secret key', async () => {
    const meta = await app.managedSecrets.get(secretId);
    expect(meta.type).toBe('aws_sigv4');
    expect(meta.injection).toEqual({ region: 'us-east-1', service: 's3' });
    expect(meta.last4).toBe(KEY_ID.slice(-4));
    expect(JSON.stringify(meta)).not.toContain(SECRET.slice(-4) + '"');
    expect(JSON.stringify(meta)).not.toContain(SECRET);
  });

  it('can come from the aws catalog template (any *.amazonaws.com host, region/service from the host)', async () => {
    const meta = await app.managedSecrets.create({
      slug: 'aws-template',
      templateId: 'aws',
      value: { access_key_id: KEY_ID, secret_access_key: SECRET, session_token: 'IQoJb3JpZ2luX2VjEXAMPLE' },
    });
    expect(meta.type).toBe('aws_sigv4');
    expect(meta.allowedHosts).toEqual(['*.amazonaws.com', '*.amazonaws.com.cn']);
    expect(meta.injection).toEqual({});
    expect(meta.last4).toBe(KEY_ID.slice(-4));
  });

  it.each([
    ['a string', 'AKIA-only'],
    ['a missing secret key', { access_key_id: KEY_ID }],
    ['an extra field', { access_key_id: KEY_ID, secret_access_key: SECRET, region: 'us-east-1' }],
    ['a key id with "/"', { access_key_id: 'AKIA/EXAMPLE', secret_access_key: SECRET }],
    ['a secret key with a space', { access_key_id: KEY_ID, secret_access_key: 'a b' }],
  ])('refuse %s as a value (400, value not echoed)', async (_, value) => {
    const r = await api(s.baseUrl, s.appKey, 'POST', '/v1/managed-secrets', {
      slug: 'bad-aws',
      type: 'aws_sigv4',
      value,
      allowed_hosts: ['*.amazonaws.com'],
    });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('invalid_request');
    expect(r.text).not.toContain(SECRET);
  });

  it('refuse injection settings of other types, and region/service on other types', async () => {
    const aws = await api(s.baseUrl, s.appKey, 'POST', '/v1/managed-secrets', {
      slug: 'bad-aws-inj',
      type: 'aws_sigv4',
      value: { access_key_id: KEY_ID, secret_access_key: SECRET },
      injection: { header: 'x-api-key' },
      allowed_hosts: ['*.amazonaws.com'],
    });
    expect(aws.status).toBe(400);
    const bearer = await api(s.baseUrl, s.appKey, 'POST', '/v1/managed-secrets', {
      slug: 'bad-bearer-inj',
      type: 'bearer',
      value: 'tok_1234567890abcdef',
      injection: { region: 'us-east-1' },
      allowed_hosts: ['api.example.com'],
    });
    expect(bearer.status).toBe(400);
  });
});

describe('through Latchkey to s3rver (signature verified by s3rver)', () => {
  it('s3rver refuses a request signed with a wrong key (the check is real)', async () => {
    const r = await fetch(`${base}/${BUCKET}/x.txt`, {
      headers: {
        authorization: `AWS4-HMAC-SHA256 Credential=${KEY_ID}/20260101/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=${'0'.repeat(64)}`,
        'x-amz-date': new Date().toISOString().replace(/[-:]|\.\d{3}/g, ''),
        'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
      },
    });
    expect(r.status).toBe(403);
    expect(await r.text()).toContain('SignatureDoesNotMatch');
  });

  it('PUT then GET an object through /v1/forward', async () => {
    const put = await app.request('PUT', `${base}/${BUCKET}/forward/q3 report (final).csv`, {
      grantId,
      body: 'region,revenue\neu,42\n',
      extraHeaders: { 'content-type': 'text/csv', 'x-amz-meta-owner': 'finance' },
    });
    expect(put.status).toBe(200);
    await put.arrayBuffer();
    const seen = s3.seen.at(-1)!;
    expect(seen.url).toBe(`/${BUCKET}/forward/q3%20report%20%28final%29.csv`);
    expect(seen.headers['x-amz-content-sha256']).toBe(
      createHash('sha256').update('region,revenue\neu,42\n').digest('hex'),
    );
    expect(seen.headers['authorization']).toContain(`Credential=${KEY_ID}/`);
    expect(seen.headers['authorization']).toContain('x-amz-meta-owner');

    const get = await app.request('GET', `${base}/${BUCKET}/forward/q3 report (final).csv`, { grantId });
    expect(get.status).toBe(200);
    expect(await get.text()).toBe('region,revenue\neu,42\n');
    expect(get.headers.get('x-amz-meta-owner')).toBe('finance');
  });

  it('PUT then GET an object through /v1/proxy, with a query', async () => {
    const put = await app.proxyRequest({
      method: 'PUT',
      url: `${base}/${BUCKET}/proxy/data.json`,
      grantId,
      json: { ok: true },
    });
    expect(put.statusCode).toBe(200);
    const get = await app.proxyRequest({ method: 'GET', url: `${base}/${BUCKET}/proxy/data.json`, grantId });
    expect(get.statusCode).toBe(200);
    expect(get.json()).toEqual({ ok: true });
    const list = await app.proxyRequest({
      method: 'GET',
      url: `${base}/${BUCKET}`,
      grantId,
      queryParams: { 'list-type': '2', prefix: 'proxy/' },
    });
    expect(list.statusCode).toBe(200);
    expect(list.text()).toContain('<Key>proxy/data.json</Key>');
    expect(list.text()).not.toContain('forward/');
  });

  it('strips a caller-supplied Authorization and x-amz-* auth headers and presign parameters', async () => {
    const r = await app.proxyRequest({
      method: 'GET',
      url: `${base}/${BUCKET}/proxy/data.json?X-Amz-Signature=${'f'.repeat(64)}&X-Amz-Credential=EVIL`,
      grantId,
      headers: {
        authorization: `AWS4-HMAC-SHA256 Credential=EVIL/20000101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=${'1'.repeat(64)}`,
        'x-amz-date': '20000101T000000Z',
        'x-amz-security-token': 'caller-token',
        'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
      },
    });
    expect(r.statusCode).toBe(200);
    const seen = s3.seen.at(-1)!;
    expect(seen.url).toBe(`/${BUCKET}/proxy/data.json`);
    expect(seen.headers['authorization']).toMatch(new RegExp(`^AWS4-HMAC-SHA256 Credential=${KEY_ID}/`));
    expect(seen.headers['authorization']).not.toContain('EVIL');
    expect(seen.headers['x-amz-date']).not.toBe('20000101T000000Z');
    expect(seen.headers['x-amz-security-token']).toBeUndefined();
    expect(seen.headers['x-amz-content-sha256']).toBe(createHash('sha256').update('').digest('hex'));
  });

  it('a streamed (bearer, unbuffered) PUT through /v1/forward goes as UNSIGNED-PAYLOAD and is accepted', async () => {
    const chunks = ['first chunk,', 'second chunk,', 'third chunk'];
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${s.baseUrl}/v1/forward`, {
        method: 'PUT',
        headers: {
          authorization: `Bearer ${s.appKey}`,
          'latchkey-target': `${base}/${BUCKET}/stream/log.txt`,
          'latchkey-grant-id': grantId,
          'content-type': 'text/plain',
          'content-length': String(chunks.join('').length),
        },
      });
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      let i = 0;
      const next = () => {
        if (i === chunks.length) return void req.end();
        req.write(chunks[i++]);
        setTimeout(next, 20);
      };
      next();
    });
    expect(status).toBe(200);
    const seen = s3.seen.at(-1)!;
    expect(seen.headers['x-amz-content-sha256']).toBe('UNSIGNED-PAYLOAD');
    const get = await app.request('GET', `${base}/${BUCKET}/stream/log.txt`, { grantId });
    expect(await get.text()).toBe(chunks.join(''));
  });

  it('after a rotation to a wrong secret key, s3rver refuses (403 SignatureDoesNotMatch); rotating back works', async () => {
    await app.managedSecrets.rotate(secretId, {
      access_key_id: KEY_ID,
      secret_access_key: 'wrong-secret-key-0000000000',
    });
    const bad = await app.request('GET', `${base}/${BUCKET}/proxy/data.json`, { grantId });
    expect(bad.status).toBe(403);
    const text = await bad.text();
    expect(text).toContain('SignatureDoesNotMatch');
    expect(text).not.toContain('wrong-secret-key');
    await app.managedSecrets.rotate(secretId, { access_key_id: KEY_ID, secret_access_key: SECRET });
    const good = await app.request('GET', `${base}/${BUCKET}/proxy/data.json`, { grantId });
    expect(good.status).toBe(200);
    await good.arrayBuffer();
  });
});

describe('signing for other services (recorded by a plain upstream)', () => {
  let up: Upstream;
  let upGrant: string;
  let bareGrant: string;

  beforeAll(async () => {
    up = await startUpstream((req, res) => {
      // A misbehaving upstream that echoes the secret key back.
      res.writeHead(200, { 'content-type': 'text/plain', 'x-echo': `key=${SECRET}` });
      res.end(`got ${req.body.length} bytes`);
    });
    const signing = await app.managedSecrets.create({
      slug: 'execute-api',
      type: 'aws_sigv4',
      value: { access_key_id: KEY_ID, secret_access_key: SECRET, session_token: 'IQoJb3JpZ2luX2VjEXAMPLETOKEN' },
      injection: { region: 'eu-west-1', service: 'execute-api' },
      allowedHosts: [`127.0.0.2:${up.port}`],
    });
    upGrant = (await app.createManagedSecretGrant(signing.id, { principal: { type: 'system' } })).grantId;
    const bare = await app.managedSecrets.create({
      slug: 'no-scope',
      type: 'aws_sigv4',
      value: { access_key_id: KEY_ID, secret_access_key: SECRET },
      allowedHosts: [`127.0.0.2:${up.port}`],
    });
    bareGrant = (await app.createManagedSecretGrant(bare.id, { principal: { type: 'system' } })).grantId;
  });
  afterAll(() => up?.close());

  it('a streamed body to a service other than S3 is read and hashed; the session token is sent; echoes are redacted', async () => {
    const body = JSON.stringify({ n: 'x'.repeat(5000) });
    const res = await fetch(`${s.baseUrl}/v1/forward`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${s.appKey}`,
        'latchkey-target': `${up.url}/prod/items`,
        'latchkey-grant-id': upGrant,
        'content-type': 'application/json',
      },
      body: new ReadableStream({
        start(c) {
          c.enqueue(new TextEncoder().encode(body.slice(0, 100)));
          c.enqueue(new TextEncoder().encode(body.slice(100)));
          c.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(`got ${body.length} bytes`);
    expect(res.headers.get('x-echo')).toBe('key=[REDACTED]');
    const seen = up.seen.at(-1)!;
    expect(seen.headers['x-amz-content-sha256']).toBe(createHash('sha256').update(body).digest('hex'));
    expect(seen.headers['x-amz-security-token']).toBe('IQoJb3JpZ2luX2VjEXAMPLETOKEN');
    expect(seen.headers['authorization']).toContain(`/eu-west-1/execute-api/aws4_request`);
    expect(seen.headers['host']).toBe(`127.0.0.2:${up.port}`);
  });

  it('a host that names no region or service, without config, is 400 invalid_request before any I/O', async () => {
    const before = up.seen.length;
    const res = await app.proxyRequest({ method: 'GET', url: `${up.url}/x`, grantId: bareGrant }).catch((e) => e);
    expect(res).toMatchObject({ code: 'invalid_request', status: 400 });
    expect(up.seen.length).toBe(before);
  });
});

describe('the secret key and session token', () => {
  it('never appear in logs, audit rows or API answers', async () => {
    const audit = await api(s.baseUrl, s.appKey, 'GET', '/v1/audit?limit=500');
    expect(audit.status).toBe(200);
    expect(audit.body.events.length).toBeGreaterThan(10);
    const secrets = await api(s.baseUrl, s.appKey, 'GET', '/v1/managed-secrets');
    for (const text of [s.logs.join('\n'), audit.text, secrets.text]) {
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain('IQoJb3JpZ2luX2VjEXAMPLE');
    }
  });
});
