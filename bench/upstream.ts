/**
 * The upstream every variant calls: a `node:http` server answering any request with the same
 * ~200-byte JSON body, keep-alive. Run as its own process; prints `LISTENING <port>` when ready.
 *
 * Usage: node --conditions=source --import tsx bench/upstream.ts [port]
 */
import { createServer } from 'node:http';

/** The JSON body every response carries (~200 bytes). */
const UPSTREAM_BODY = Buffer.from(
  JSON.stringify({
    id: 'evt_3QbZ0aG2eZvKYlo2C1x9wXkq',
    object: 'balance',
    livemode: false,
    available: [{ amount: 123456, currency: 'usd', source_types: { card: 123456 } }],
    pending: [{ amount: 0, currency: 'usd' }],
  }),
);

const port = Number(process.argv[2] ?? 0);
const headers = { 'content-type': 'application/json', 'content-length': String(UPSTREAM_BODY.length) };
const server = createServer((req, res) => {
  // Drain any request body, then answer.
  req.resume();
  req.on('end', () => {
    res.writeHead(200, headers);
    res.end(UPSTREAM_BODY);
  });
});
server.keepAliveTimeout = 120_000;
server.headersTimeout = 125_000;
server.listen(port, '127.0.0.1', () => {
  const addr = server.address();
  process.stdout.write(`LISTENING ${typeof addr === 'object' && addr ? addr.port : port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
