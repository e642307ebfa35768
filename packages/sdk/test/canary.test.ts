/**
 * Secrets never leak (DESIGN §13): a canary API key and canary header values must not appear in any
 * error (message, stack, cause, JSON, inspection), any log line, or an inspected client.
 */
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { App } from '../src/index.js';
import { GRANT_ID, sendError, startServer, type TestServer } from './helpers/server.js';

const KEY_CANARY = 'lk_app_CaNaRyKeY0123456789abcdefghijKLMNOP';
const HEADER_CANARY = 'HdrCanary9f8e7d6c';
const CANARIES = [KEY_CANARY, KEY_CANARY.slice('lk_app_'.length), HEADER_CANARY];

let server: TestServer;
const logLines: string[] = [];
const logger = {
  debug: (m: string, f: unknown) => logLines.push(`${m} ${JSON.stringify(f)}`),
  warn: (m: string, f: unknown) => logLines.push(`${m} ${JSON.stringify(f)}`),
};

function expectClean(value: unknown): void {
  const views = [
    inspect(value, { depth: Infinity, showHidden: true }),
    value instanceof Error ? `${value.message}\n${value.stack}\n${String(value.cause)}` : '',
    (() => {
      try {
        return JSON.stringify(value) ?? '';
      } catch {
        return '';
      }
    })(),
  ];
  for (const view of views) for (const c of CANARIES) expect(view).not.toContain(c);
}

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

beforeAll(async () => {
  server = await startServer();
});
afterAll(() => {
  for (const c of CANARIES) expect(logLines.join('\n')).not.toContain(c);
  return server.close();
});

const forwardOptions = {
  grantId: GRANT_ID,
  extraHeaders: { 'x-token': HEADER_CANARY },
  reason: HEADER_CANARY,
  context: { k: HEADER_CANARY },
  runId: HEADER_CANARY,
};

describe.each(['signed', 'bearer'] as const)('canary (%s)', (auth) => {
  it('is absent from an inspected client', () => {
    expectClean(new App({ apiKey: KEY_CANARY, baseUrl: server.url, auth, logger }));
  });

  it('is absent from Latchkey error answers', async () => {
    server.handle((_, res) => sendError(res, 'unauthorized'));
    const app = new App({ apiKey: KEY_CANARY, baseUrl: server.url, auth, logger });
    expectClean(
      await app.request('POST', 'https://x.test/a', { ...forwardOptions, json: { a: 1 } }).catch((e: unknown) => e),
    );
    expectClean(await app.keys.list().catch((e: unknown) => e));
  });

  it('is absent from network errors', async () => {
    const app = new App({ apiKey: KEY_CANARY, baseUrl: `http://127.0.0.1:${await closedPort()}`, auth, logger });
    const err = await app.request('GET', 'https://x.test/a', forwardOptions).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expectClean(err);
  });

  it('is absent from timeouts', async () => {
    server.handle((_, res) => {
      setTimeout(() => res.end(), 500);
    });
    const app = new App({ apiKey: KEY_CANARY, baseUrl: server.url, auth, logger, timeout: 50 });
    expectClean(await app.request('GET', 'https://x.test/a', forwardOptions).catch((e: unknown) => e));
  });

  it('is absent from provider errors', async () => {
    server.handle((_, res) => {
      res.writeHead(401, { 'www-authenticate': 'Bearer' });
      res.end('nope');
    });
    const app = new App({ apiKey: KEY_CANARY, baseUrl: server.url, auth, logger });
    expectClean(
      await app
        .request('GET', 'https://x.test/a', { ...forwardOptions, throwOnProviderError: true })
        .catch((e: unknown) => e),
    );
  });
});

describe('canary in bad arguments', () => {
  it('is absent from LatchkeyValueError messages', async () => {
    expectClean(
      (() => {
        try {
          return new App({ apiKey: `${KEY_CANARY}!` });
        } catch (e) {
          return e;
        }
      })(),
    );
    const app = new App({ apiKey: KEY_CANARY, baseUrl: server.url, logger });
    expectClean(
      await app
        .request('GET', 'https://x.test/a', { grantId: GRANT_ID, extraHeaders: { 'x-token': `${HEADER_CANARY}\r\n` } })
        .catch((e: unknown) => e),
    );
    expectClean(await app.request('GET', 'https://x.test/a', { grantId: HEADER_CANARY }).catch((e: unknown) => e));
    expectClean(
      await app
        .request('GET', 'https://x.test/a', { grantId: GRANT_ID, reason: `${HEADER_CANARY}é` })
        .catch((e: unknown) => e),
    );
  });
});
