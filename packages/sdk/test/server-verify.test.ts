/**
 * Interop: requests signed by the SDK verify with the server's own verifier
 * (`packages/server/src/crypto/request-signature.ts`), over a real socket, for every request shape
 * the SDK sends. The key id and signing key come from the server's derivations.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { verifyRequestSignature } from '../../server/src/crypto/request-signature.js';
import { deriveSigningKey } from '../../server/src/crypto/tokens.js';
import { deriveKeyId } from '../../server/src/modules/keys/keys.fns.js';
import { App } from '../src/index.js';
import { wireGrant, wireKey, wireSecret } from './helpers/fixtures.js';
import { GRANT_ID, TEST_API_KEY, sendJson, startServer, type Recorded, type TestServer } from './helpers/server.js';

let server: TestServer;
let app: App;
const nonces = new Set<string>();

function verify(req: Recorded, overrides: Partial<Recorded> = {}) {
  const r = { ...req, ...overrides };
  return verifyRequestSignature(
    { method: r.method, targetUri: r.targetUri, headers: r.headers, body: r.body },
    {
      now: Date.now,
      lookupSigningKey: async (keyId) =>
        keyId === deriveKeyId(TEST_API_KEY) ? deriveSigningKey(TEST_API_KEY) : undefined,
      consumeNonce: async (keyId, nonce) => {
        const k = `${keyId}:${nonce}`;
        if (nonces.has(k)) return false;
        nonces.add(k);
        return true;
      },
    },
  );
}

beforeAll(async () => {
  server = await startServer(async (req, res) => {
    try {
      const v = await verify(req);
      // Route-shaped answers so the SDK's mapping succeeds.
      const body = req.url.startsWith('/v1/keys')
        ? req.url.includes('revoke')
          ? wireKey
          : req.method === 'POST'
            ? { key: wireKey, api_key: 'lk_app_x' }
            : { keys: [], total: 0, limit: 100, offset: 0, has_more: false }
        : req.url.startsWith('/v1/managed-secrets')
          ? req.url.endsWith('/grants')
            ? wireGrant
            : wireSecret
          : { verified: v.keyId };
      sendJson(res, 200, body, { 'x-verified': v.keyId });
    } catch (err) {
      sendJson(
        res,
        401,
        { error: { code: 'unauthorized', message: String((err as Error).message), request_id: 'r' } },
        {
          'latchkey-error': '1',
        },
      );
    }
  });
  app = new App({ apiKey: TEST_API_KEY, baseUrl: server.url });
});
afterAll(() => server.close());
beforeEach(() => {
  server.requests.length = 0;
});

describe('SDK signatures verify with the server verifier', () => {
  it('GET with a query', async () => {
    await app.keys.list({ limit: 3, offset: 1 });
    expect(server.requests).toHaveLength(1);
  });

  it('POST with a JSON body, and POST without a body', async () => {
    await app.keys.mint({ scopes: ['proxy:execute'] });
    await app.keys.revoke('key_0123456789abcdef01234567');
    await app.createManagedSecretGrant('ms_abcdefgh1234', { principal: { type: 'system' } });
  });

  it('PATCH and DELETE', async () => {
    await app.managedSecrets.update('ms_abcdefgh1234', { name: 'n' });
    server.handle(async (req, res) => {
      await verify(req);
      sendJson(res, 200, { id: 'ms_abcdefgh1234', deleted: true, revoked_grants: 0 });
    });
    await app.managedSecrets.delete('ms_abcdefgh1234');
    server.handle(async (req, res) => {
      await verify(req);
      res.end('ok');
    });
  });

  it('forward with a streamed body, extra headers and a non-ASCII path parameter', async () => {
    server.handle(async (req, res) => {
      await verify(req);
      res.writeHead(200, { 'x-verified': 'yes' });
      res.end('ok');
    });
    const res = await app.request('patch', 'https://api.example.com/ü/{id}', {
      grantId: GRANT_ID,
      pathParams: { id: 'ä ö' },
      body: new Blob(['hello']),
      extraHeaders: { 'content-type': 'text/plain; charset=utf-8', 'x-a': 'b' },
      context: { k: 'v' },
    });
    expect(res.headers.get('x-verified')).toBe('yes');
  });

  it('through a base URL with a path prefix', async () => {
    server.handle(async (req, res) => {
      await verify(req);
      sendJson(res, 200, { keys: [], total: 0, limit: 100, offset: 0, has_more: false });
    });
    await new App({ apiKey: TEST_API_KEY, baseUrl: `${server.url}/prefix` }).keys.list();
  });

  it('and the verifier rejects a replay, a changed body and another target', async () => {
    server.handle((_, res) => sendJson(res, 200, { keys: [], total: 0, limit: 100, offset: 0, has_more: false }));
    await app.keys.mint({ scopes: ['proxy:execute'] }).catch(() => undefined);
    const signed = server.requests.at(-1)!;
    await expect(verify(signed)).resolves.toMatchObject({ keyId: deriveKeyId(TEST_API_KEY) });
    await expect(verify(signed)).rejects.toMatchObject({ reason: 'replayed' });
    nonces.clear();
    await expect(verify(signed, { body: Buffer.from('{"scopes":["*"]}') })).rejects.toMatchObject({
      reason: 'digest_mismatch',
    });
    nonces.clear();
    await expect(verify(signed, { targetUri: `${signed.targetUri}?x=1` })).rejects.toMatchObject({
      reason: 'bad_signature',
    });
  });
});
