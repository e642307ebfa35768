/**
 * A real `node:http` server on 127.0.0.1 that records every request the SDK sends and answers with
 * whatever the test's handler says. No fetch mocks: the SDK's real `fetch` goes over a socket.
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ERROR_CODES, type ErrorCode } from '@latchkey/api/errors';

/** One request as the server received it. */
export interface Recorded {
  readonly method: string;
  /** Raw request target (`/v1/keys?limit=10`). */
  readonly url: string;
  /** `http://127.0.0.1:<port>` + raw request target. */
  readonly targetUri: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  /** The body parsed as JSON, or `undefined`. */
  readonly json: unknown;
}

/** Answers one request. */
export type Handler = (req: Recorded, res: ServerResponse) => void | Promise<void>;

/** A running test server. */
export interface TestServer {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** Every request received, in order. */
  readonly requests: Recorded[];
  /** Replaces the handler. */
  handle(handler: Handler): void;
  close(): Promise<void>;
}

/** Starts a server; the default handler answers `200 {}`. */
export async function startServer(handler: Handler = (_, res) => sendJson(res, 200, {})): Promise<TestServer> {
  let current = handler;
  const requests: Recorded[] = [];
  let origin = '';
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      let json: unknown;
      try {
        json = body.length > 0 ? JSON.parse(body.toString('utf8')) : undefined;
      } catch {
        json = undefined;
      }
      const rec: Recorded = {
        method: req.method ?? '',
        url: req.url ?? '/',
        targetUri: new URL(req.url ?? '/', origin).href,
        headers: req.headers,
        body,
        json,
      };
      requests.push(rec);
      Promise.resolve(current(rec, res)).catch((err: unknown) => {
        res.statusCode = 599;
        res.end(String(err));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: origin,
    requests,
    handle(h) {
      current = h;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Writes a JSON answer. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify(body));
}

/** Writes a Latchkey error answer exactly as the server does (`latchkey-error: 1`, registry status). */
export function sendError(
  res: ServerResponse,
  code: ErrorCode | string,
  opts: { status?: number; details?: Record<string, unknown>; headers?: Record<string, string> } = {},
): void {
  const spec = (ERROR_CODES as Record<string, { status: number; message: string }>)[code];
  const status = opts.status ?? spec?.status ?? 400;
  sendJson(
    res,
    status,
    {
      error: {
        code,
        message: spec?.message ?? 'Something new.',
        ...(opts.details ? { details: opts.details } : {}),
        request_id: 'req_test_1',
      },
    },
    { 'latchkey-error': '1', ...opts.headers },
  );
}

/** A syntactically valid API key for tests. */
export const TEST_API_KEY = 'lk_app_0123456789abcdefghijABCDEFGHIJklmnopqrstuvw';

/** A grant id for tests. */
export const GRANT_ID = '0b7c3b1e-4a9f-4c1e-9b7a-2f6d1c3e5a70';

/** Wire timestamps. */
export const TS = '2026-01-02T03:04:05.000Z';
