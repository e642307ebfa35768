/**
 * The "Node ceiling" (DESIGN §13): the least a Node credential proxy must do per request —
 * `node:http` server, an in-memory Map lookup of the grant, one AES-256-GCM open of its credential
 * (node:crypto, 16-byte tag), then undici `Pool.stream()` straight into the raw response.
 * Run as its own process; prints `LISTENING <port>` when ready.
 *
 * Usage: node --conditions=source --import tsx bench/bare-proxy.ts <port> <upstream origin>
 */
import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { Pool } from 'undici';

/** Grant ids the bare proxy knows; the bench sends the first one. Printed as `GRANTS <id,…>`. */
const GRANT_COUNT = 10;
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'host',
  'authorization',
  'latchkey-grant-id',
]);

interface SealedEntry {
  readonly key: Buffer;
  readonly iv: Buffer;
  readonly aad: Buffer;
  readonly ciphertext: Buffer;
  readonly tag: Buffer;
}

function seal(token: string, grantId: string): SealedEntry {
  const key = randomBytes(32);
  const iv = randomBytes(12);
  const aad = Buffer.from(`bench|grants|${grantId}|value`);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: 16 });
  cipher.setAAD(aad);
  const ciphertext = Buffer.concat([cipher.update(token, 'utf8'), cipher.final()]);
  return { key, iv, aad, ciphertext, tag: cipher.getAuthTag() };
}

function open(e: SealedEntry): string {
  const d = createDecipheriv('aes-256-gcm', e.key, e.iv, { authTagLength: 16 });
  d.setAAD(e.aad);
  d.setAuthTag(e.tag);
  return Buffer.concat([d.update(e.ciphertext), d.final()]).toString('utf8');
}

const port = Number(process.argv[2] ?? 0);
const upstream = process.argv[3];
if (!upstream) throw new TypeError('usage: bare-proxy.ts <port> <upstream origin>');

const grants = new Map<string, SealedEntry>();
for (let i = 0; i < GRANT_COUNT; i++) {
  const id = randomUUID();
  grants.set(id, seal(`bench-token-${i}-${randomBytes(16).toString('hex')}`, id));
}
const pool = new Pool(upstream, { connections: 128, pipelining: 1 });

function upstreamHeaders(h: IncomingHttpHeaders, token: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const name in h) {
    const v = h[name];
    if (v !== undefined && !HOP_BY_HOP.has(name)) out[name] = v;
  }
  out['authorization'] = `Bearer ${token}`;
  return out;
}

const server = createServer((req, res) => {
  const grantId = req.headers['latchkey-grant-id'];
  const entry = typeof grantId === 'string' ? grants.get(grantId) : undefined;
  if (!entry) {
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"grant_not_found"}');
    return;
  }
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
  pool.stream(
    {
      path: req.url ?? '/',
      method: req.method as 'GET',
      headers: upstreamHeaders(req.headers, open(entry)),
      body: hasBody ? req : null,
    },
    ({ statusCode, headers }) => {
      const clean: Record<string, string | string[]> = {};
      for (const name in headers) {
        const v = headers[name];
        if (v !== undefined && name !== 'connection' && name !== 'keep-alive') clean[name] = v;
      }
      res.writeHead(statusCode, clean);
      return res;
    },
    (err) => {
      if (!err) return;
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    },
  );
});
server.keepAliveTimeout = 120_000;
server.listen(port, '127.0.0.1', () => {
  const addr = server.address();
  process.stdout.write(`GRANTS ${[...grants.keys()].join(',')}\n`);
  process.stdout.write(`LISTENING ${typeof addr === 'object' && addr ? addr.port : port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
