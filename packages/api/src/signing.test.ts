import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  buildRequestSignatureBase,
  buildSignatureBase,
  formatContentDigest,
  formatSignatureHeader,
  formatSignatureInput,
  serializeSignatureParams,
} from './signing.js';

// RFC 9421 Appendix B.1.4 shared secret, used by B.2.5.
const RFC_SHARED_SECRET = Buffer.from(
  'uzvJfB4u3N0Jy4T7NZ75MDVcr8zSTInedJtkgcu46YW4XByzNJjxBdtjUkdJPBtbmHhIDi6pcl8jsasjlTMtDQ==',
  'base64',
);

// RFC 9421 Appendix B.2 test request.
const RFC_TEST_REQUEST = {
  method: 'POST',
  target: '/foo?param=Value&Pet=dog',
  headers: {
    host: 'example.com',
    date: 'Tue, 20 Apr 2021 02:07:55 GMT',
    'content-type': 'application/json',
    'content-digest':
      'sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:',
    'content-length': '18',
  },
  body: '{"hello": "world"}',
};

describe('RFC 9421 Appendix B.2.5 (hmac-sha256)', () => {
  it('reproduces the signature base and the signature exactly', () => {
    const h = RFC_TEST_REQUEST.headers;
    const base = buildSignatureBase(
      [
        { name: 'date', value: h.date },
        { name: '@authority', value: h.host },
        { name: 'content-type', value: h['content-type'] },
      ],
      { created: 1618884473, keyid: 'test-shared-secret' },
    );
    expect(base).toBe(
      [
        '"date": Tue, 20 Apr 2021 02:07:55 GMT',
        '"@authority": example.com',
        '"content-type": application/json',
        '"@signature-params": ("date" "@authority" "content-type");created=1618884473;keyid="test-shared-secret"',
      ].join('\n'),
    );
    const signature = createHmac('sha256', RFC_SHARED_SECRET).update(base).digest('base64');
    expect(`sig-b25=:${signature}:`).toBe('sig-b25=:pxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8=:');
    expect(RFC_TEST_REQUEST.body.length).toBe(Number(h['content-length']));
  });
});

describe('serializeSignatureParams', () => {
  it('serializes strings with escapes and integers', () => {
    expect(serializeSignatureParams(['@method'], { created: 1, keyid: 'a"b\\c' })).toBe(
      '("@method");created=1;keyid="a\\"b\\\\c"',
    );
    expect(serializeSignatureParams([], {})).toBe('()');
  });

  it('refuses what RFC 8941 cannot represent', () => {
    expect(() => serializeSignatureParams(['Bad Name'], {})).toThrow(TypeError);
    expect(() => serializeSignatureParams(['x'], { created: 1.5 })).toThrow(TypeError);
    expect(() => serializeSignatureParams(['x'], { keyid: 'é' })).toThrow(TypeError);
    expect(() => serializeSignatureParams(['x'], { Key: 'v' })).toThrow(TypeError);
  });
});

describe('buildSignatureBase', () => {
  it('refuses CR/LF in values and duplicate components', () => {
    expect(() => buildSignatureBase([{ name: 'x', value: 'a\nb' }], {})).toThrow(TypeError);
    expect(() =>
      buildSignatureBase(
        [
          { name: 'x', value: 'a' },
          { name: 'x', value: 'b' },
        ],
        {},
      ),
    ).toThrow(TypeError);
  });
});

describe('Latchkey profile helpers', () => {
  const params = { created: 100, expires: 160, nonce: 'AAAAAAAAAAAAAAAAAAAAAA', keyid: 'key_1' };

  it('builds the with-body base and Signature-Input', () => {
    const base = buildRequestSignatureBase(
      {
        method: 'POST',
        targetUri: 'https://vault.example/v1/x?y=1',
        contentDigest: formatContentDigest('47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='),
        contentType: 'application/json',
      },
      params,
    );
    const paramsLine =
      '("@method" "@target-uri" "content-digest" "content-type");created=100;expires=160;nonce="AAAAAAAAAAAAAAAAAAAAAA";keyid="key_1";alg="hmac-sha256";tag="latchkey-v1"';
    expect(base).toBe(
      [
        '"@method": POST',
        '"@target-uri": https://vault.example/v1/x?y=1',
        '"content-digest": sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:',
        '"content-type": application/json',
        `"@signature-params": ${paramsLine}`,
      ].join('\n'),
    );
    expect(formatSignatureInput(true, params)).toBe(`sig1=${paramsLine}`);
    expect(formatSignatureHeader('AAAA')).toBe('sig1=:AAAA:');
  });

  it('builds the without-body base and needs content-type with a digest', () => {
    expect(formatSignatureInput(false, params)).toMatch(/^sig1=\("@method" "@target-uri"\);created=100;/);
    expect(() =>
      buildRequestSignatureBase({ method: 'POST', targetUri: 'https://x/', contentDigest: 'sha-256=:AA==:' }, params),
    ).toThrow(TypeError);
  });
});
