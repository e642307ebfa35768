/**
 * Behaviour shared by every call: construction checks, base URL, authentication modes, timeouts,
 * unreachable servers, non-Latchkey answers, logging and the injected fetch.
 */
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { App, BackendError, LatchkeyValueError, NetworkError, TimeoutError } from '../src/index.js';
import { wireKey } from './helpers/fixtures.js';
import { TEST_API_KEY, sendJson, startServer, type TestServer } from './helpers/server.js';

let server: TestServer;
const keyPage = { keys: [wireKey], total: 1, limit: 100, offset: 0, has_more: false };

beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());
beforeEach(() => {
  server.requests.length = 0;
  server.handle((_, res) => sendJson(res, 200, keyPage));
});

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('new App()', () => {
  it.each([
    [{ apiKey: 'sk_live_123' }],
    [{ apiKey: 'lk_app_short' }],
    [{ apiKey: TEST_API_KEY, baseUrl: 'not a url' }],
    [{ apiKey: TEST_API_KEY, baseUrl: 'ftp://x' }],
    [{ apiKey: TEST_API_KEY, baseUrl: 'http://u:p@x' }],
    [{ apiKey: TEST_API_KEY, timeout: 0 }],
    [{ apiKey: TEST_API_KEY, auth: 'basic' }],
    [{ apiKey: TEST_API_KEY, caller: 'a\nb' }],
  ])('rejects %o with LatchkeyValueError', (options) => {
    expect(() => new App(options as never)).toThrow(LatchkeyValueError);
  });

  it('accepts agent keys', () => {
    expect(() => new App({ apiKey: TEST_API_KEY.replace('lk_app_', 'lk_agent_') })).not.toThrow();
  });
});

describe('authentication', () => {
  it('signs by default and never sends the key', async () => {
    await new App({ apiKey: TEST_API_KEY, baseUrl: server.url }).keys.list();
    const req = server.requests[0]!;
    expect(req.headers['signature-input']).toBeDefined();
    expect(req.headers['signature']).toBeDefined();
    expect(req.headers['authorization']).toBeUndefined();
    expect(JSON.stringify(req)).not.toContain(TEST_API_KEY);
  });

  it("sends Authorization: Bearer with auth: 'bearer', and no signature", async () => {
    await new App({ apiKey: TEST_API_KEY, baseUrl: server.url, auth: 'bearer' }).keys.list();
    const req = server.requests[0]!;
    expect(req.headers['authorization']).toBe(`Bearer ${TEST_API_KEY}`);
    expect(req.headers['signature-input']).toBeUndefined();
  });

  it('sends latchkey-caller when configured', async () => {
    await new App({ apiKey: TEST_API_KEY, baseUrl: server.url, caller: 'billing-svc' }).keys.list();
    expect(server.requests[0]!.headers['latchkey-caller']).toBe('billing-svc');
  });

  it('derives the signing key once per client', async () => {
    const spy = vi.spyOn(globalThis.crypto.subtle, 'importKey');
    const app = new App({ apiKey: TEST_API_KEY, baseUrl: server.url });
    await Promise.all([app.keys.list(), app.keys.list(), app.keys.list()]);
    await app.keys.list();
    // Two imports for the derivation (API key as HMAC key, then the signing key), none per request.
    expect(spy).toHaveBeenCalledTimes(2);
    spy.mockRestore();
  });
});

describe('base URL', () => {
  it('keeps a path prefix and signs the full URL', async () => {
    const app = new App({ apiKey: TEST_API_KEY, baseUrl: `${server.url}/latchkey/` });
    await app.keys.list({ limit: 5 });
    expect(server.requests[0]!.url).toBe('/latchkey/v1/keys?limit=5&offset=0');
  });
});

describe('failures', () => {
  it('throws TimeoutError when Latchkey does not answer within timeout', async () => {
    server.handle((_, res) => {
      setTimeout(() => sendJson(res, 200, keyPage), 1000);
    });
    const app = new App({ apiKey: TEST_API_KEY, baseUrl: server.url, timeout: 100 });
    const err = await app.keys.list().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect(err).toBeInstanceOf(NetworkError);
    expect(err).toMatchObject({ code: 'timeout', timeoutMs: 100 });
  });

  it('counts the body read inside the budget for JSON calls', async () => {
    server.handle((_, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"keys":');
      setTimeout(() => res.end('[]}'), 1000);
    });
    const app = new App({ apiKey: TEST_API_KEY, baseUrl: server.url, timeout: 150 });
    await expect(app.keys.list()).rejects.toBeInstanceOf(TimeoutError);
  });

  it('throws NetworkError when nothing listens', async () => {
    const app = new App({ apiKey: TEST_API_KEY, baseUrl: `http://127.0.0.1:${await closedPort()}` });
    const err = await app.keys.list().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetworkError);
    expect(err).not.toBeInstanceOf(TimeoutError);
    expect((err as NetworkError).code).toBe('network_error');
    expect((err as NetworkError).cause).toBeDefined();
  });

  it('throws BackendError unexpected_response on a non-Latchkey error page', async () => {
    server.handle((_, res) => {
      res.writeHead(502, { 'content-type': 'text/html' });
      res.end('<html>Bad Gateway</html>');
    });
    const err = await new App({ apiKey: TEST_API_KEY, baseUrl: server.url }).keys.list().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendError);
    expect(err).toMatchObject({ code: 'unexpected_response', status: 502 });
  });

  it('throws BackendError unexpected_response on JSON of the wrong shape', async () => {
    server.handle((_, res) => sendJson(res, 200, { unexpected: true }));
    const err = await new App({ apiKey: TEST_API_KEY, baseUrl: server.url }).keys.list().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendError);
    expect(err).toMatchObject({ code: 'unexpected_response' });
  });

  it('throws BackendError unexpected_response on a 200 that is not JSON', async () => {
    server.handle((_, res) => {
      res.writeHead(200);
      res.end('ok');
    });
    const err = await new App({ apiKey: TEST_API_KEY, baseUrl: server.url }).keys.list().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'unexpected_response', status: 200 });
  });
});

describe('logger and injected fetch', () => {
  it('logs one debug line per call without query or secrets, and warns once on a deprecated key', async () => {
    server.handle((_, res) => sendJson(res, 200, keyPage, { 'latchkey-key-deprecated': 'true' }));
    const lines: Array<[string, string, Record<string, unknown>]> = [];
    const logger = {
      debug: (m: string, f: Record<string, unknown>) => lines.push(['debug', m, f]),
      warn: (m: string, f: Record<string, unknown>) => lines.push(['warn', m, f]),
    };
    const app = new App({ apiKey: TEST_API_KEY, baseUrl: server.url, logger });
    await app.keys.list({ limit: 7 });
    await app.keys.list();
    const debug = lines.filter(([l]) => l === 'debug');
    expect(debug).toHaveLength(2);
    expect(debug[0]![2]).toMatchObject({ method: 'GET', path: '/v1/keys', status: 200 });
    expect(typeof debug[0]![2]['durationMs']).toBe('number');
    expect(lines.filter(([l]) => l === 'warn')).toHaveLength(1);
    expect(JSON.stringify(lines)).not.toContain('limit=7');
  });

  it('a throwing logger does not break calls', async () => {
    const app = new App({
      apiKey: TEST_API_KEY,
      baseUrl: server.url,
      logger: {
        debug: () => {
          throw new Error('logger broke');
        },
      },
    });
    await expect(app.keys.list()).resolves.toBeTruthy();
  });

  it('uses an injected fetch, called unbound', async () => {
    const calls: string[] = [];
    const f: typeof fetch = function (this: unknown, input, init) {
      calls.push(String(input));
      return globalThis.fetch(input, init);
    };
    await new App({ apiKey: TEST_API_KEY, baseUrl: server.url, fetch: f }).keys.list();
    expect(calls).toEqual([`${server.url}/v1/keys?limit=100&offset=0`]);
  });
});
