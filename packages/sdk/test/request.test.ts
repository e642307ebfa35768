/**
 * `app.request()` (ANY /v1/forward) against a real local HTTP server standing in for Latchkey.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  App,
  LatchkeyValueError,
  PolicyViolationError,
  ProviderAPIError,
  RateLimitedError,
  TimeoutError,
  UpstreamError,
} from '../src/index.js';
import { GRANT_ID, TEST_API_KEY, sendError, startServer, type TestServer } from './helpers/server.js';

let server: TestServer;
let app: App;

beforeAll(async () => {
  server = await startServer();
  app = new App({ apiKey: TEST_API_KEY, baseUrl: server.url });
});
afterAll(() => server.close());
beforeEach(() => {
  server.requests.length = 0;
  server.handle((_, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'x-upstream': 'yes' });
    res.end('upstream says hi');
  });
});

function last() {
  return server.requests.at(-1)!;
}

describe('request(): what goes on the wire', () => {
  it('sends method, latchkey-* headers and a signature to /v1/forward', async () => {
    const res = await app.request('get', 'https://api.example.com/v1/users/{id}/repos', {
      grantId: GRANT_ID,
      pathParams: { id: 'a b/c' },
      queryParams: { q: 'x y', tag: ['1', '2'] },
      reason: 'sync repos',
      context: { ticket: 'T-1', who: 'Zoë' },
      runId: 'run-1',
      threadId: 'th-1',
      tool: 'repos',
      role: 'planner',
      extraHeaders: { Accept: 'application/vnd.github+json' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-upstream')).toBe('yes');
    expect(await res.text()).toBe('upstream says hi');

    const req = last();
    expect(req.method).toBe('GET');
    expect(req.url).toBe('/v1/forward');
    expect(req.headers['latchkey-target']).toBe('https://api.example.com/v1/users/a%20b%2Fc/repos?q=x+y&tag=1&tag=2');
    expect(req.headers['latchkey-grant-id']).toBe(GRANT_ID);
    expect(req.headers['latchkey-reason']).toBe('sync repos');
    expect(JSON.parse(req.headers['latchkey-context'] as string)).toEqual({ ticket: 'T-1', who: 'Zoë' });
    expect(req.headers['latchkey-context']).toMatch(/^[\x20-\x7e]+$/);
    expect(req.headers['latchkey-run-id']).toBe('run-1');
    expect(req.headers['latchkey-thread-id']).toBe('th-1');
    expect(req.headers['latchkey-tool']).toBe('repos');
    expect(req.headers['latchkey-role']).toBe('planner');
    expect(req.headers['accept']).toBe('application/vnd.github+json');
    // Every latchkey-* header is covered, in ascending order, after the base components.
    expect(req.headers['signature-input']).toMatch(
      /^sig1=\("@method" "@target-uri" "latchkey-context" "latchkey-grant-id" "latchkey-reason" "latchkey-role" "latchkey-run-id" "latchkey-target" "latchkey-thread-id" "latchkey-tool"\);created=\d+;expires=\d+;nonce="/,
    );
    expect(req.headers['signature']).toMatch(/^sig1=:[A-Za-z0-9+/]{43}=:$/);
    expect(req.headers['authorization']).toBeUndefined();
    expect(JSON.stringify(req.headers)).not.toContain(TEST_API_KEY);
  });

  it('keeps a query already in the URL and appends queryParams after it', async () => {
    await app.request('GET', 'https://api.example.com/s?a=%20&b', { grantId: GRANT_ID, queryParams: { c: '1' } });
    expect(last().headers['latchkey-target']).toBe('https://api.example.com/s?a=%20&b&c=1');
  });

  it('sends a JSON body with content-digest over the exact bytes', async () => {
    await app.request('POST', 'https://api.example.com/charges', {
      grantId: GRANT_ID,
      json: { amount: 5, Key_Name: 'x' },
    });
    const req = last();
    expect(req.body.toString()).toBe('{"amount":5,"Key_Name":"x"}');
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers['content-digest']).toBe(`sha-256=:${createHash('sha256').update(req.body).digest('base64')}:`);
    expect(req.headers['signature-input']).toContain('("@method" "@target-uri" "content-digest" "content-type"');
  });

  it('buffers a ReadableStream body and signs its bytes', async () => {
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode('part1,'));
        c.enqueue(new TextEncoder().encode('part2'));
        c.close();
      },
    });
    await app.request('PUT', 'https://api.example.com/upload', {
      grantId: GRANT_ID,
      body: stream,
      extraHeaders: { 'Content-Type': ' text/csv ' },
    });
    const req = last();
    expect(req.body.toString()).toBe('part1,part2');
    expect(req.headers['content-type']).toBe('text/csv');
    expect(req.headers['content-digest']).toBe(
      `sha-256=:${createHash('sha256').update('part1,part2').digest('base64')}:`,
    );
  });

  it('defaults content types by body kind', async () => {
    await app.request('POST', 'https://api.example.com/a', { grantId: GRANT_ID, body: 'hello' });
    expect(last().headers['content-type']).toBe('text/plain;charset=UTF-8');
    await app.request('POST', 'https://api.example.com/a', { grantId: GRANT_ID, body: new Uint8Array([1, 2, 3]) });
    expect(last().headers['content-type']).toBe('application/octet-stream');
    expect([...last().body]).toEqual([1, 2, 3]);
    await app.request('POST', 'https://api.example.com/a', {
      grantId: GRANT_ID,
      body: new Blob(['x'], { type: 'image/png' }),
    });
    expect(last().headers['content-type']).toBe('image/png');
  });

  it('rejects bad arguments before any I/O', async () => {
    const bad: Array<[string, string, Record<string, unknown>]> = [
      ['GET', 'https://x.test', {}],
      ['GET', 'https://x.test', { grantId: 'nope' }],
      ['GET', '/relative', { grantId: GRANT_ID }],
      ['GET', 'ftp://x.test', { grantId: GRANT_ID }],
      ['GET', 'https://x.test/{id}', { grantId: GRANT_ID }],
      ['GET', 'https://x.test', { grantId: GRANT_ID, json: {} }],
      ['POST', 'https://x.test', { grantId: GRANT_ID, json: {}, body: 'x' }],
      ['POST', 'https://x.test', { grantId: GRANT_ID, extraHeaders: { authorization: 'Bearer x' } }],
      ['POST', 'https://x.test', { grantId: GRANT_ID, extraHeaders: { 'Latchkey-Target': 'https://evil' } }],
      ['POST', 'https://x.test', { grantId: GRANT_ID, extraHeaders: { 'x-a': 'line\r\nbreak' } }],
      ['POST', 'https://x.test', { grantId: GRANT_ID, reason: 'naïve' }],
      ['POST', 'https://x.test', { grantId: GRANT_ID, context: { a: 1 } }],
      ['GE T', 'https://x.test', { grantId: GRANT_ID }],
    ];
    for (const [method, url, options] of bad) {
      await expect(app.request(method, url, options as never), JSON.stringify(options)).rejects.toBeInstanceOf(
        LatchkeyValueError,
      );
    }
    expect(server.requests).toHaveLength(0);
  });
});

describe('request(): what comes back', () => {
  it('returns upstream errors as-is by default', async () => {
    server.handle((_, res) => {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"message":"Not Found"}');
    });
    const res = await app.request('GET', 'https://api.example.com/x', { grantId: GRANT_ID });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ message: 'Not Found' });
  });

  it('throws ProviderAPIError(statusCode) with throwOnProviderError', async () => {
    server.handle((_, res) => {
      res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '2' });
      res.end('down');
    });
    const err = await app
      .request('GET', 'https://api.example.com/x', { grantId: GRANT_ID, throwOnProviderError: true })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderAPIError);
    expect(err).toMatchObject({ statusCode: 503, status: 503, code: 'provider_error', responseBody: 'down' });
    expect((err as ProviderAPIError).responseHeaders['retry-after']).toBe('2');
  });

  it('maps a Latchkey refusal (latchkey-error: 1) to its typed error', async () => {
    server.handle((_, res) => sendError(res, 'policy_violation', { details: { policy_error: 'deny_rule' } }));
    const err = await app.request('GET', 'https://api.example.com/x', { grantId: GRANT_ID }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PolicyViolationError);
    expect(err).toMatchObject({ status: 403, policyError: 'deny_rule', requestId: 'req_test_1' });

    server.handle((_, res) => sendError(res, 'upstream_timeout'));
    await expect(app.request('GET', 'https://api.example.com/x', { grantId: GRANT_ID })).rejects.toBeInstanceOf(
      UpstreamError,
    );

    server.handle((_, res) => sendError(res, 'rate_limited', { headers: { 'retry-after': '3' } }));
    const limited = await app
      .request('GET', 'https://api.example.com/x', { grantId: GRANT_ID })
      .catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(RateLimitedError);
    expect((limited as RateLimitedError).retryAfterMs).toBe(3000);
  });

  it('does not treat an upstream JSON error body as a Latchkey refusal', async () => {
    server.handle((_, res) => {
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'grant_revoked', message: 'upstream lookalike', request_id: 'x' } }));
    });
    const res = await app.request('GET', 'https://api.example.com/x', { grantId: GRANT_ID });
    expect(res.status).toBe(403);
  });

  it('returns a 3xx without following it', async () => {
    server.handle((_, res) => {
      res.writeHead(302, { location: 'https://elsewhere.example.com/' });
      res.end();
    });
    const res = await app.request('GET', 'https://api.example.com/x', { grantId: GRANT_ID });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('https://elsewhere.example.com/');
    expect(server.requests).toHaveLength(1);
  });

  it('streams: the timeout covers the headers only, not a slow body', async () => {
    server.handle((_, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: 1\n\n');
      setTimeout(() => res.end('data: 2\n\n'), 400);
    });
    const res = await app.request('GET', 'https://api.example.com/sse', { grantId: GRANT_ID, timeout: 150 });
    expect(await res.text()).toBe('data: 1\n\ndata: 2\n\n');
  });

  it('throws TimeoutError when the headers do not arrive within timeout', async () => {
    server.handle((_, res) => {
      setTimeout(() => res.end(), 1000);
    });
    const started = Date.now();
    const err = await app
      .request('GET', 'https://api.example.com/slow', { grantId: GRANT_ID, timeout: 100 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as TimeoutError).timeoutMs).toBe(100);
    expect(Date.now() - started).toBeLessThan(900);
  });

  it("rethrows the caller's abort reason", async () => {
    server.handle((_, res) => {
      setTimeout(() => res.end(), 1000);
    });
    const ac = new AbortController();
    const p = app.request('GET', 'https://api.example.com/slow', { grantId: GRANT_ID, signal: ac.signal });
    setTimeout(() => ac.abort(new Error('user gave up')), 50);
    await expect(p).rejects.toThrow('user gave up');
  });
});
