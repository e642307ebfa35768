/**
 * `app.proxyRequest()` (POST /v1/proxy) against a real local HTTP server.
 */
import * as api from '@latchkey/api';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { App, GrantRevokedError, LatchkeyValueError, ProviderAPIError } from '../src/index.js';
import { GRANT_ID, TEST_API_KEY, sendError, sendJson, startServer, type TestServer } from './helpers/server.js';

let server: TestServer;
let app: App;

const upstream = (status: number, body: string, truncated = false) =>
  api.ProxyResult.parse({
    status_code: status,
    headers: { 'content-type': 'application/json', 'x-req': '1' },
    body_b64: Buffer.from(body).toString('base64'),
    body_truncated: truncated,
  });

beforeAll(async () => {
  server = await startServer();
  app = new App({ apiKey: TEST_API_KEY, baseUrl: server.url });
});
afterAll(() => server.close());
beforeEach(() => {
  server.requests.length = 0;
  server.handle((_, res) => sendJson(res, 200, upstream(200, '{"login":"octocat"}')));
});

describe('proxyRequest()', () => {
  it('sends a strict ProxyRequestBody in snake_case, user maps untouched', async () => {
    await app.proxyRequest({
      method: 'post',
      url: 'https://api.github.com/repos/{owner}/issues',
      grantId: GRANT_ID,
      headers: { 'X-GitHub-Api-Version': '2022-11-28' },
      json: { title: 'Bug', Nested_Key: { camelCase: 1 } },
      queryParams: { per_page: '10', label: ['a', 'b'] },
      pathParams: { owner: 'octo cat' },
      reason: 'file bug',
      context: { Ticket: 'T-1' },
    });
    const req = server.requests.at(-1)!;
    expect([req.method, req.url]).toEqual(['POST', '/v1/proxy']);
    expect(req.json).toEqual({
      method: 'POST',
      url: 'https://api.github.com/repos/{owner}/issues',
      grant_id: GRANT_ID,
      headers: { 'X-GitHub-Api-Version': '2022-11-28' },
      json: { title: 'Bug', Nested_Key: { camelCase: 1 } },
      query_params: { per_page: '10', label: ['a', 'b'] },
      path_params: { owner: 'octo cat' },
      reason: 'file bug',
      context: { Ticket: 'T-1' },
    });
    expect(() => api.ProxyRequestBody.parse(req.json)).not.toThrow();
    expect(req.headers['content-digest']).toBeDefined();
    expect(req.headers['signature-input']).toContain('"content-digest" "content-type"');
  });

  it('sends a raw body as body_b64', async () => {
    await app.proxyRequest({
      method: 'PUT',
      url: 'https://x.test/a',
      grantId: GRANT_ID,
      body: new Uint8Array([0, 255, 1]),
    });
    expect((server.requests.at(-1)!.json as { body_b64: string }).body_b64).toBe('AP8B');
    await app.proxyRequest({ method: 'PUT', url: 'https://x.test/a', grantId: GRANT_ID, body: 'héllo' });
    expect((server.requests.at(-1)!.json as { body_b64: string }).body_b64).toBe(
      Buffer.from('héllo').toString('base64'),
    );
  });

  it('returns a frozen ApprovalResult with decoded body, text() and json()', async () => {
    const r = await app.proxyRequest({ method: 'GET', url: 'https://api.github.com/user', grantId: GRANT_ID });
    expect(r.statusCode).toBe(200);
    expect(r.headers).toEqual({ 'content-type': 'application/json', 'x-req': '1' });
    expect(r.bodyTruncated).toBe(false);
    expect(new TextDecoder().decode(r.body)).toBe('{"login":"octocat"}');
    expect(r.text()).toBe('{"login":"octocat"}');
    expect(r.json<{ login: string }>().login).toBe('octocat');
    expect(Object.isFrozen(r)).toBe(true);
    expect(Object.isFrozen(r.headers)).toBe(true);
  });

  it('passes bodyTruncated through', async () => {
    server.handle((_, res) => sendJson(res, 200, upstream(200, 'abc', true)));
    const r = await app.proxyRequest({ method: 'GET', url: 'https://x.test/big', grantId: GRANT_ID });
    expect(r.bodyTruncated).toBe(true);
  });

  it('returns upstream errors as results, or throws ProviderAPIError when asked', async () => {
    server.handle((_, res) => sendJson(res, 200, upstream(422, '{"message":"invalid"}')));
    const r = await app.proxyRequest({ method: 'GET', url: 'https://x.test/a', grantId: GRANT_ID });
    expect(r.statusCode).toBe(422);
    const err = await app
      .proxyRequest({ method: 'GET', url: 'https://x.test/a', grantId: GRANT_ID, throwOnProviderError: true })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderAPIError);
    expect(err).toMatchObject({ statusCode: 422, responseBody: '{"message":"invalid"}' });
  });

  it('maps Latchkey refusals', async () => {
    server.handle((_, res) => sendError(res, 'grant_revoked'));
    await expect(app.proxyRequest({ method: 'GET', url: 'https://x.test', grantId: GRANT_ID })).rejects.toBeInstanceOf(
      GrantRevokedError,
    );
  });

  it('rejects bad arguments before any I/O', async () => {
    const bad = [
      { method: 'TRACE', url: 'https://x.test', grantId: GRANT_ID },
      { method: 'GET', url: '', grantId: GRANT_ID },
      { method: 'GET', url: 'https://x.test', grantId: '123' },
      { method: 'POST', url: 'https://x.test', grantId: GRANT_ID, json: {}, body: 'x' },
      { method: 'POST', url: 'https://x.test', grantId: GRANT_ID, body: 42 },
      { method: 'POST', url: 'https://x.test', grantId: GRANT_ID, headers: { a: 1 } },
    ];
    for (const options of bad) {
      await expect(app.proxyRequest(options as never)).rejects.toBeInstanceOf(LatchkeyValueError);
    }
    expect(server.requests).toHaveLength(0);
  });
});
