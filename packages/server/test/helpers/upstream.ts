import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the upstream saw. */
export interface SeenRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A real HTTP upstream on loopback that records requests and answers with `handler`. */
export interface Upstream {
  url: string;
  host: string;
  port: number;
  seen: SeenRequest[];
  close(): Promise<void>;
}

/**
 * Starts an upstream on `host` (default 127.0.0.2). The default handler echoes the request as JSON.
 */
export async function startUpstream(
  handler?: (req: SeenRequest, res: http.ServerResponse) => void,
  host = '127.0.0.2',
): Promise<Upstream> {
  const seen: SeenRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: SeenRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks),
      };
      seen.push(r);
      if (handler) return handler(r, res);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ method: r.method, url: r.url, headers: r.headers, body: r.body.toString('utf8') }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    host,
    port,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
