import { startUpstream, type Upstream } from './upstream.js';

/** The credentials the verifying upstream accepts (and the test stores in Latchkey). */
export interface ExpectedCredentials {
  bearer: string;
  apiKey: string;
  basic: { username: string; password: string };
  custom: { account: string; secret: string };
}

/**
 * An upstream on 127.0.0.2 that checks each credential type on its own path, answering 200 with
 * `{ok:true}` when the credential is right and 401 otherwise:
 * `/bearer` (Authorization: Bearer), `/api-key` (X-Api-Key: Key <token>), `/basic` (RFC 7617),
 * `/custom` (header X-Account + query `sig`).
 */
export async function startVerifyingUpstream(expected: ExpectedCredentials): Promise<Upstream> {
  return startUpstream((req, res) => {
    const url = new URL(req.url, 'http://x');
    const h = req.headers;
    let ok = false;
    switch (url.pathname) {
      case '/bearer':
        ok = h.authorization === `Bearer ${expected.bearer}`;
        break;
      case '/api-key':
        ok = h['x-api-key'] === `Key ${expected.apiKey}` && h.authorization === undefined;
        break;
      case '/basic': {
        const m = /^Basic (.+)$/.exec(h.authorization ?? '');
        const [u, ...p] = m ? Buffer.from(m[1]!, 'base64').toString('utf8').split(':') : [];
        ok = u === expected.basic.username && p.join(':') === expected.basic.password;
        break;
      }
      case '/custom':
        ok = h['x-account'] === expected.custom.account && url.searchParams.get('sig') === expected.custom.secret;
        break;
      case '/echo':
        res.writeHead(200, { 'content-type': 'application/json', 'x-echo-auth': String(h.authorization ?? '') });
        res.end(JSON.stringify({ headers: h, url: req.url, body: req.body.toString('utf8') }));
        return;
    }
    res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ok, path: url.pathname }));
  });
}
