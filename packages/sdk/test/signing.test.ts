import { createHash, createHmac } from 'node:crypto';
import { buildSignatureBase } from '@latchkey/api/signing';
import { httpbis, createVerifier } from 'http-message-signatures';
import { parseDictionary } from 'structured-headers';
import { describe, expect, it } from 'vitest';
import { base64ToBytes, bytesToBase64, bytesToBase64Url, utf8 } from '../src/encoding.js';
import { KEY_ID_INFO, deriveKeys, hmacSha256, signRequest } from '../src/signing.js';
import { TEST_API_KEY } from './helpers/server.js';

const nodeSigningKey = (apiKey: string): Buffer =>
  createHmac('sha256', apiKey).update('latchkey-request-signing-v1').digest();

describe('key derivation (DESIGN §5)', () => {
  it('derives keyid = "key_" + 24 hex of HMAC-SHA256(apiKey, "latchkey-key-id-v1")', async () => {
    const keys = await deriveKeys(TEST_API_KEY);
    const expected = `key_${createHmac('sha256', TEST_API_KEY).update(KEY_ID_INFO).digest('hex').slice(0, 24)}`;
    expect(keys.keyId).toBe(expected);
    expect(keys.keyId).toMatch(/^key_[0-9a-f]{24}$/);
  });

  it('derives the signing key as HMAC-SHA256(apiKey, "latchkey-request-signing-v1")', async () => {
    const keys = await deriveKeys(TEST_API_KEY);
    const mac = await hmacSha256(keys.signingKey, utf8('probe'));
    expect(Buffer.from(mac)).toEqual(createHmac('sha256', nodeSigningKey(TEST_API_KEY)).update('probe').digest());
    expect(keys.signingKey.extractable).toBe(false);
  });
});

describe('RFC 9421 Appendix B.2.5 (HMAC-SHA256 test vector)', () => {
  it('reproduces the published signature', async () => {
    const secret = base64ToBytes(
      'uzvJfB4u3N0Jy4T7NZ75MDVcr8zSTInedJtkgcu46YW4XByzNJjxBdtjUkdJPBtbmHhIDi6pcl8jsasjlTMtDQ==',
    );
    const key = await crypto.subtle.importKey('raw', secret, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    const base = buildSignatureBase(
      [
        { name: 'date', value: 'Tue, 20 Apr 2021 02:07:55 GMT' },
        { name: '@authority', value: 'example.com' },
        { name: 'content-type', value: 'application/json' },
      ],
      { created: 1618884473, keyid: 'test-shared-secret' },
    );
    expect(bytesToBase64(await hmacSha256(key, utf8(base)))).toBe('pxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8=');
  });
});

describe('signRequest', () => {
  const url = 'http://127.0.0.1:7070/v1/keys?limit=10&offset=0';

  it('covers ("@method" "@target-uri") without a body, params in profile order', async () => {
    const keys = await deriveKeys(TEST_API_KEY);
    const h = await signRequest(keys, { method: 'GET', targetUri: url }, 1_700_000_000_123);
    expect(h['content-digest']).toBeUndefined();
    expect(h['signature-input']).toMatch(
      new RegExp(
        `^sig1=\\("@method" "@target-uri"\\);created=1700000000;expires=1700000060;nonce="[A-Za-z0-9_-]{22}";keyid="${keys.keyId}";alg="hmac-sha256";tag="latchkey-v1"$`,
      ),
    );
    const sig = parseDictionary(h.signature).get('sig1');
    expect(sig && !Array.isArray(sig[0]) && sig[0] instanceof ArrayBuffer && sig[0].byteLength).toBe(32);
  });

  it('covers content-digest and content-type with a body; digest is RFC 9530 sha-256', async () => {
    const keys = await deriveKeys(TEST_API_KEY);
    const body = utf8('{"scopes":["proxy:execute"]}');
    const h = await signRequest(keys, { method: 'POST', targetUri: url, body, contentType: 'application/json' });
    expect(h['content-digest']).toBe(`sha-256=:${createHash('sha256').update(body).digest('base64')}:`);
    expect(h['signature-input']).toMatch(/^sig1=\("@method" "@target-uri" "content-digest" "content-type"\);created=/);
  });

  it('treats an empty body as no body', async () => {
    const keys = await deriveKeys(TEST_API_KEY);
    const h = await signRequest(keys, { method: 'POST', targetUri: url, body: new Uint8Array(0) });
    expect(h['content-digest']).toBeUndefined();
    expect(h['signature-input']).toContain('("@method" "@target-uri")');
  });

  it('uses a fresh 128-bit nonce per request', async () => {
    const keys = await deriveKeys(TEST_API_KEY);
    const nonces = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const h = await signRequest(keys, { method: 'GET', targetUri: url });
      nonces.add(/nonce="([^"]+)"/.exec(h['signature-input'])![1]!);
    }
    expect(nonces.size).toBe(50);
  });

  it('verifies with an independent RFC 9421 implementation (http-message-signatures)', async () => {
    const keys = await deriveKeys(TEST_API_KEY);
    const body = utf8('{"a":1}');
    const signed = await signRequest(keys, {
      method: 'POST',
      targetUri: url,
      body,
      contentType: 'application/json',
    });
    const request = {
      method: 'POST',
      url,
      headers: { 'content-type': 'application/json', ...signed } as Record<string, string>,
    };
    const ok = await httpbis.verifyMessage(
      {
        keyLookup: async (params) =>
          params.keyid === keys.keyId
            ? {
                id: keys.keyId,
                algs: ['hmac-sha256'],
                verify: createVerifier(nodeSigningKey(TEST_API_KEY), 'hmac-sha256'),
              }
            : null,
        requiredFields: ['@method', '@target-uri', 'content-digest', 'content-type'],
        requiredParams: ['created', 'expires', 'nonce', 'keyid', 'alg', 'tag'],
      },
      request,
    );
    expect(ok).toBe(true);
    // And a tampered target fails.
    const bad = await httpbis
      .verifyMessage(
        {
          keyLookup: async () => ({
            id: keys.keyId,
            algs: ['hmac-sha256'],
            verify: createVerifier(nodeSigningKey(TEST_API_KEY), 'hmac-sha256'),
          }),
        },
        { ...request, url: url.replace('limit=10', 'limit=11') },
      )
      .catch(() => false);
    expect(bad).toBe(false);
  });
});

describe('encoding', () => {
  it('round-trips base64 and base64url for every length 0..40', () => {
    for (let n = 0; n <= 40; n++) {
      const bytes = new Uint8Array(n).map((_, i) => (i * 37 + n) & 0xff);
      expect(bytesToBase64(bytes)).toBe(Buffer.from(bytes).toString('base64'));
      expect(bytesToBase64Url(bytes)).toBe(Buffer.from(bytes).toString('base64url'));
      expect(base64ToBytes(bytesToBase64(bytes))).toEqual(bytes);
      expect(base64ToBytes(bytesToBase64Url(bytes))).toEqual(bytes);
    }
  });

  it('rejects non-base64 input', () => {
    expect(() => base64ToBytes('ab$d')).toThrow(TypeError);
    expect(() => base64ToBytes('abcde')).toThrow(TypeError);
  });
});
