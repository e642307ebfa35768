import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createSigner, createVerifier, httpbis } from 'http-message-signatures';
import { describe, expect, it } from 'vitest';
import { SignatureError, type SignatureErrorReason } from './errors.js';
import {
  signRequest,
  verifyRequestSignature,
  type IncomingSignedRequest,
  type VerifyRequestSignatureOptions,
} from './request-signature.js';
import { deriveSigningKey } from './tokens.js';

const KEY_ID = 'key_01HZX';
const SIGNING_KEY = deriveSigningKey('lk_app_test-api-key');
const NOW = 1_750_000_000_000;
const URL_ = 'https://vault.example.com/v1/proxy/github/user?per_page=10';
const BODY = Buffer.from('{"hello":"world"}');

function nonceStore(): VerifyRequestSignatureOptions['consumeNonce'] & { ttls: number[] } {
  const seen = new Set<string>();
  const ttls: number[] = [];
  const fn = async (keyId: string, nonce: string, ttlMs: number): Promise<boolean> => {
    ttls.push(ttlMs);
    const k = `${keyId}:${nonce}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  };
  return Object.assign(fn, { ttls });
}

function options(overrides: Partial<VerifyRequestSignatureOptions> = {}): VerifyRequestSignatureOptions {
  return {
    now: () => NOW,
    lookupSigningKey: async (id) => (id === KEY_ID ? SIGNING_KEY : undefined),
    consumeNonce: nonceStore(),
    ...overrides,
  };
}

function signed(
  opts: { method?: string; body?: Buffer; now?: number; ttlSeconds?: number; keyId?: string } = {},
): IncomingSignedRequest & { headers: Record<string, string> } {
  const method = opts.method ?? (opts.body ? 'POST' : 'GET');
  const headers: Record<string, string> = opts.body ? { 'content-type': 'application/json' } : {};
  const extra = signRequest({
    method,
    url: URL_,
    headers,
    body: opts.body,
    keyId: opts.keyId ?? KEY_ID,
    signingKey: SIGNING_KEY,
    now: opts.now ?? NOW,
    ttlSeconds: opts.ttlSeconds,
  });
  return { method, targetUri: URL_, headers: { ...headers, ...extra }, body: opts.body };
}

async function expectReason(promise: Promise<unknown>, reason: SignatureErrorReason): Promise<void> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected SignatureError(${reason})`).toBeInstanceOf(SignatureError);
  expect((err as SignatureError).reason).toBe(reason);
  expect((err as Error).message).not.toContain(SIGNING_KEY.toString('base64'));
}

describe('signRequest', () => {
  it('emits the profile headers for a body request', () => {
    const req = signed({ body: BODY });
    const digest = createHash('sha256').update(BODY).digest('base64');
    expect(req.headers['content-digest']).toBe(`sha-256=:${digest}:`);
    expect(req.headers['signature-input']).toMatch(
      /^sig1=\("@method" "@target-uri" "content-digest" "content-type"\);created=1750000000;expires=1750000060;nonce="[A-Za-z0-9_-]{22}";keyid="key_01HZX";alg="hmac-sha256";tag="latchkey-v1"$/,
    );
    expect(req.headers['signature']).toMatch(/^sig1=:[A-Za-z0-9+/]{43}=:$/);
  });

  it('emits the short component list without a body', () => {
    const req = signed();
    expect(req.headers['signature-input']).toMatch(/^sig1=\("@method" "@target-uri"\);/);
    expect(req.headers['content-digest']).toBeUndefined();
  });

  it('refuses misuse with TypeError', () => {
    const base = { method: 'GET', url: URL_, headers: {}, keyId: KEY_ID, signingKey: SIGNING_KEY };
    expect(() => signRequest({ ...base, url: '/relative' })).toThrow(TypeError);
    expect(() => signRequest({ ...base, ttlSeconds: 301 })).toThrow(TypeError);
    expect(() => signRequest({ ...base, ttlSeconds: 0 })).toThrow(TypeError);
    expect(() => signRequest({ ...base, keyId: '' })).toThrow(TypeError);
    expect(() => signRequest({ ...base, method: 'GE T' })).toThrow(TypeError);
    expect(() => signRequest({ ...base, method: 'POST', body: BODY })).toThrow(TypeError);
  });
});

describe('verifyRequestSignature', () => {
  it('accepts a signed GET and a signed POST', async () => {
    const get = await verifyRequestSignature(signed(), options());
    expect(get.keyId).toBe(KEY_ID);
    expect(get.created).toBe(NOW / 1000);
    expect(get.expires).toBe(NOW / 1000 + 60);
    expect(get.nonce).toMatch(/^[A-Za-z0-9_-]{22}$/);
    await expect(verifyRequestSignature(signed({ body: BODY }), options())).resolves.toMatchObject({
      keyId: KEY_ID,
    });
  });

  it('accepts array-valued headers as Node would deliver duplicates', async () => {
    const req = signed();
    const headers = { ...req.headers, 'signature-input': [req.headers['signature-input']!] };
    await expect(verifyRequestSignature({ ...req, headers }, options())).resolves.toBeDefined();
  });

  it('keeps the nonce for as long as the signature could be accepted', async () => {
    const consumeNonce = nonceStore();
    await verifyRequestSignature(signed({ ttlSeconds: 300 }), options({ consumeNonce }));
    expect(consumeNonce.ttls).toEqual([301_000]);
  });

  it('rejects a replayed nonce', async () => {
    const req = signed({ body: BODY });
    const opts = options();
    await verifyRequestSignature(req, opts);
    await expectReason(verifyRequestSignature(req, opts), 'replayed');
  });

  it('judges the clock after the key lookup: a replay that waited past the nonce lifetime is refused', async () => {
    // Signed at NOW for 60 s; the first request's nonce is remembered until the signature expires + 1 s.
    const req = signed({ ttlSeconds: 60 });
    let clock = NOW;
    const consumeNonce = nonceStore();
    const remembered = new Map<string, number>();
    const expiring = async (keyId: string, nonce: string, ttlMs: number): Promise<boolean> => {
      const k = `${keyId}:${nonce}`;
      const until = remembered.get(k);
      if (until !== undefined && until > clock) return false;
      remembered.set(k, clock + ttlMs);
      return consumeNonce(keyId, nonce, ttlMs).then(() => true);
    };
    await verifyRequestSignature(req, options({ now: () => clock, consumeNonce: expiring }));
    // The replay arrives before expiry, but its key lookup waits until after the nonce is forgotten.
    clock = NOW + 59_000;
    const replay = verifyRequestSignature(
      req,
      options({
        now: () => clock,
        consumeNonce: expiring,
        lookupSigningKey: async (id) => {
          clock = NOW + 62_000;
          return id === KEY_ID ? SIGNING_KEY : undefined;
        },
      }),
    );
    await expectReason(replay, 'expired');
  });

  it('does not consume the nonce of a request that fails earlier', async () => {
    const consumeNonce = nonceStore();
    const req = signed({ body: BODY });
    await expectReason(
      verifyRequestSignature({ ...req, body: Buffer.from('x') }, options({ consumeNonce })),
      'digest_mismatch',
    );
    expect(consumeNonce.ttls).toEqual([]);
  });

  it('rejects a missing signature', async () => {
    await expectReason(verifyRequestSignature({ method: 'GET', targetUri: URL_, headers: {} }, options()), 'missing');
  });

  describe('clock', () => {
    it('rejects created too far in the past or future', async () => {
      await expectReason(
        verifyRequestSignature(signed({ now: NOW - 301_000, ttlSeconds: 300 }), options()),
        'clock_skew',
      );
      await expectReason(verifyRequestSignature(signed({ now: NOW + 301_000 }), options()), 'clock_skew');
      await expectReason(
        verifyRequestSignature(signed({ now: NOW - 31_000, ttlSeconds: 60 }), options({ maxSkewSeconds: 30 })),
        'clock_skew',
      );
    });

    it('accepts created within the skew', async () => {
      await expect(verifyRequestSignature(signed({ now: NOW + 299_000 }), options())).resolves.toBeDefined();
      await expect(verifyRequestSignature(signed({ now: NOW - 59_000 }), options())).resolves.toBeDefined();
    });

    it('rejects an expired signature', async () => {
      await expectReason(verifyRequestSignature(signed({ now: NOW - 61_000 }), options()), 'expired');
    });
  });

  describe('tampering', () => {
    it('rejects a changed method or URL', async () => {
      const req = signed({ body: BODY });
      await expectReason(verifyRequestSignature({ ...req, method: 'PUT' }, options()), 'bad_signature');
      await expectReason(
        verifyRequestSignature({ ...req, targetUri: `${URL_}&per_page=100` }, options()),
        'bad_signature',
      );
      await expectReason(
        verifyRequestSignature({ ...req, targetUri: URL_.replace('vault.', 'evil.') }, options()),
        'bad_signature',
      );
    });

    it('rejects a changed body', async () => {
      const req = signed({ body: BODY });
      await expectReason(
        verifyRequestSignature({ ...req, body: Buffer.from('{"hello":"World"}') }, options()),
        'digest_mismatch',
      );
      await expectReason(verifyRequestSignature({ ...req, body: undefined }, options()), 'digest_mismatch');
    });

    it('rejects a body smuggled into an unsigned-body request', async () => {
      const req = signed();
      await expectReason(verifyRequestSignature({ ...req, body: BODY }, options()), 'digest_mismatch');
    });

    it('rejects a changed content-type or content-digest header', async () => {
      const req = signed({ body: BODY });
      await expectReason(
        verifyRequestSignature({ ...req, headers: { ...req.headers, 'content-type': 'text/plain' } }, options()),
        'bad_signature',
      );
      const other = `sha-256=:${createHash('sha256').update('other').digest('base64')}:`;
      await expectReason(
        verifyRequestSignature(
          {
            ...req,
            body: Buffer.from('other'),
            headers: { ...req.headers, 'content-digest': other },
          },
          options(),
        ),
        'bad_signature',
      );
    });

    it('rejects a changed signature or parameter', async () => {
      const req = signed();
      const sig = req.headers['signature']!;
      const flipped = sig.replace(/:(.)/, (_, c: string) => `:${c === 'A' ? 'B' : 'A'}`);
      await expectReason(
        verifyRequestSignature({ ...req, headers: { ...req.headers, signature: flipped } }, options()),
        'bad_signature',
      );
      await expectReason(
        verifyRequestSignature({ ...req, headers: { ...req.headers, signature: 'sig1=:AAAA:' } }, options()),
        'bad_signature',
      );
      const longer = req.headers['signature-input']!.replace('expires=1750000060', 'expires=1750000120');
      await expectReason(
        verifyRequestSignature({ ...req, headers: { ...req.headers, 'signature-input': longer } }, options()),
        'bad_signature',
      );
    });
  });

  it('rejects an unknown key after computing an HMAC, with its own reason', async () => {
    const looked: string[] = [];
    await expectReason(
      verifyRequestSignature(
        signed({ keyId: 'key_unknown' }),
        options({ lookupSigningKey: async (id) => (looked.push(id), undefined) }),
      ),
      'unknown_key',
    );
    expect(looked).toEqual(['key_unknown']);
  });

  describe('profile', () => {
    function withInput(req: ReturnType<typeof signed>, input: string): IncomingSignedRequest {
      return { ...req, headers: { ...req.headers, 'signature-input': input } };
    }

    it('rejects a wrong tag or alg', async () => {
      const req = signed();
      const input = req.headers['signature-input']!;
      await expectReason(
        verifyRequestSignature(withInput(req, input.replace('latchkey-v1', 'other-v1')), options()),
        'unsupported',
      );
      await expectReason(
        verifyRequestSignature(withInput(req, input.replace('hmac-sha256', 'ed25519')), options()),
        'unsupported',
      );
    });

    it('rejects missing, extra or reordered components', async () => {
      const get = signed();
      const post = signed({ body: BODY });
      const getInput = get.headers['signature-input']!;
      const postInput = post.headers['signature-input']!;
      await expectReason(
        verifyRequestSignature(withInput(get, getInput.replace('("@method" "@target-uri")', '("@method")')), options()),
        'unsupported',
      );
      await expectReason(
        verifyRequestSignature(
          withInput(get, getInput.replace('("@method" "@target-uri")', '("@target-uri" "@method")')),
          options(),
        ),
        'unsupported',
      );
      await expectReason(
        verifyRequestSignature(withInput(post, postInput.replace(' "content-type")', ')')), options()),
        'unsupported',
      );
      await expectReason(
        verifyRequestSignature(
          withInput(post, postInput.replace('"content-type")', '"content-type" "date")')),
          options(),
        ),
        'unsupported',
      );
      await expectReason(
        verifyRequestSignature(withInput(get, getInput.replace('"@method"', '"@method";req')), options()),
        'unsupported',
      );
    });

    it('rejects missing, unknown or mistyped parameters and a too-long lifetime', async () => {
      const req = signed();
      const input = req.headers['signature-input']!;
      await expectReason(
        verifyRequestSignature(withInput(req, input.replace(/;nonce="[^"]+"/, '')), options()),
        'malformed',
      );
      await expectReason(
        verifyRequestSignature(withInput(req, input.replace(/;expires=\d+/, '')), options()),
        'malformed',
      );
      await expectReason(
        verifyRequestSignature(withInput(req, input.replace(/;keyid="[^"]+"/, '')), options()),
        'malformed',
      );
      await expectReason(verifyRequestSignature(withInput(req, `${input};foo="bar"`), options()), 'unsupported');
      await expectReason(
        verifyRequestSignature(withInput(req, input.replace('created=1750000000', 'created="1750000000"')), options()),
        'malformed',
      );
      await expectReason(
        verifyRequestSignature(withInput(req, input.replace(/nonce="[^"]+"/, 'nonce="short"')), options()),
        'malformed',
      );
      await expectReason(
        verifyRequestSignature(withInput(req, input.replace('expires=1750000060', 'expires=1750000301')), options()),
        'unsupported',
      );
      await expectReason(
        verifyRequestSignature(withInput(req, input.replace('expires=1750000060', 'expires=1750000000')), options()),
        'unsupported',
      );
    });

    it('rejects extra or other labels', async () => {
      const req = signed();
      const input = req.headers['signature-input']!;
      const sig = req.headers['signature']!;
      await expectReason(
        verifyRequestSignature(
          {
            ...req,
            headers: {
              ...req.headers,
              'signature-input': `${input}, ${input.replace('sig1=', 'sig2=')}`,
              signature: `${sig}, ${sig.replace('sig1=', 'sig2=')}`,
            },
          },
          options(),
        ),
        'unsupported',
      );
      await expectReason(
        verifyRequestSignature(
          {
            ...req,
            headers: {
              ...req.headers,
              'signature-input': input.replace('sig1=', 'sig2='),
              signature: sig.replace('sig1=', 'sig2='),
            },
          },
          options(),
        ),
        'unsupported',
      );
      await expectReason(
        verifyRequestSignature({ ...req, headers: { ...req.headers, signature: `${sig}, sig2=:AAAA:` } }, options()),
        'unsupported',
      );
    });

    it('rejects malformed headers', async () => {
      const req = signed();
      const cases: Record<string, string | undefined>[] = [
        { 'signature-input': 'sig1=("@method" "@target-uri"' },
        { 'signature-input': 'sig1="not-an-inner-list"' },
        { signature: 'sig1=not-bytes' },
        { signature: 'sig1=:AAAA' },
        { signature: 'sig1=:AAAA:;x=1' },
        { signature: undefined },
        { 'signature-input': undefined },
        { 'signature-input': 'sig1=("@method" 1);created=1' },
        { 'signature-input': `${req.headers['signature-input']!}${' '.repeat(9000)}x` },
      ];
      for (const patch of cases) {
        const headers = { ...req.headers, ...patch };
        await expectReason(verifyRequestSignature({ ...req, headers }, options()), 'malformed');
      }
    });

    it('rejects a missing or non-sha-256 Content-Digest', async () => {
      const req = signed({ body: BODY });
      const without = { ...req.headers };
      delete without['content-digest'];
      await expectReason(verifyRequestSignature({ ...req, headers: without }, options()), 'malformed');
      await expectReason(
        verifyRequestSignature({ ...req, headers: { ...req.headers, 'content-digest': 'sha-512=:AAAA:' } }, options()),
        'unsupported',
      );
      await expectReason(
        verifyRequestSignature({ ...req, headers: { ...req.headers, 'content-digest': 'sha-256=:AAAA:' } }, options()),
        'malformed',
      );
      const noType = { ...req.headers };
      delete noType['content-type'];
      await expectReason(verifyRequestSignature({ ...req, headers: noType }, options()), 'malformed');
    });
  });
});

describe('interop with http-message-signatures', () => {
  const profileParams = ['created', 'expires', 'nonce', 'keyid', 'alg', 'tag'];
  const bodyFields = ['@method', '@target-uri', 'content-digest', 'content-type'];

  function lowercase(headers: Record<string, string | string[]>): Record<string, string | string[]> {
    return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  }

  it('verifies requests signed by http-message-signatures', async () => {
    for (const withBody of [true, false]) {
      const now = Date.now();
      const headers: Record<string, string> = withBody
        ? {
            'content-type': 'application/json',
            'content-digest': `sha-256=:${createHash('sha256').update(BODY).digest('base64')}:`,
          }
        : {};
      const message = await httpbis.signMessage(
        {
          key: createSigner(SIGNING_KEY, 'hmac-sha256', KEY_ID),
          name: 'sig1',
          fields: withBody ? bodyFields : ['@method', '@target-uri'],
          params: profileParams,
          paramValues: {
            created: new Date(now),
            expires: new Date(now + 60_000),
            nonce: randomBytes(16).toString('base64url'),
            tag: 'latchkey-v1',
          },
        },
        { method: withBody ? 'POST' : 'GET', url: URL_, headers },
      );
      const result = await verifyRequestSignature(
        {
          method: message.method,
          targetUri: URL_,
          headers: lowercase(message.headers),
          body: withBody ? BODY : undefined,
        },
        options({ now: () => now }),
      );
      expect(result.keyId).toBe(KEY_ID);
    }
  });

  it('produces signatures that http-message-signatures verifies', async () => {
    for (const withBody of [true, false]) {
      const headers: Record<string, string> = withBody ? { 'content-type': 'application/json' } : {};
      const method = withBody ? 'POST' : 'GET';
      const extra = signRequest({
        method,
        url: URL_,
        headers,
        body: withBody ? BODY : undefined,
        keyId: KEY_ID,
        signingKey: SIGNING_KEY,
      });
      const verify = createVerifier(SIGNING_KEY, 'hmac-sha256');
      let verifiedWith: string | undefined;
      const ok = await httpbis.verifyMessage(
        {
          keyLookup: async (params) =>
            params.keyid === KEY_ID
              ? {
                  id: KEY_ID,
                  algs: ['hmac-sha256'],
                  verify: async (data, signature, parameters) => {
                    verifiedWith = data.toString();
                    return verify(data, signature, parameters);
                  },
                }
              : null,
          requiredParams: profileParams,
          requiredFields: withBody ? bodyFields : ['@method', '@target-uri'],
        },
        { method, url: URL_, headers: { ...headers, ...extra } },
      );
      expect(ok).toBe(true);
      expect(verifiedWith).toContain('"@signature-params": (');
      // And a tampered copy fails there too.
      const bad = await httpbis.verifyMessage(
        {
          keyLookup: async () => ({ id: KEY_ID, algs: ['hmac-sha256'], verify }),
        },
        { method, url: `${URL_}x`, headers: { ...headers, ...extra } },
      );
      expect(bad).toBe(false);
    }
  });

  it('agrees with an independent HMAC over the library-built base', async () => {
    const req = signed({ body: BODY });
    const components = httpbis.createSignatureBase(
      { fields: bodyFields },
      { method: 'POST', url: URL_, headers: req.headers },
    );
    const paramsLine = String(req.headers['signature-input']).slice('sig1='.length);
    const base = httpbis.formatSignatureBase([
      ...components,
      ['"@signature-params"', [paramsLine]] as [string, string[]],
    ]);
    const mac = createHmac('sha256', SIGNING_KEY).update(base).digest('base64');
    expect(req.headers['signature']).toBe(`sig1=:${mac}:`);
  });
});
