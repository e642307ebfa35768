import fc from 'fast-check';
import { parseDictionary } from 'structured-headers';
import { describe, expect, test } from 'vitest';
import { signRequest } from './request-signature.js';
import { parseProfileSignature, parseProfileSignatureInput } from './signature-fields.js';

/** A parse result with byte sequences as hex (`toEqual` does not compare ArrayBuffer contents). */
function comparable(v: unknown): unknown {
  if (v instanceof ArrayBuffer) return { bytes: Buffer.from(v).toString('hex') };
  if (v instanceof Map) return new Map([...v].map(([k, x]) => [k, comparable(x)]));
  if (Array.isArray(v)) return v.map(comparable);
  return v;
}

/** The library's parse (comparable), or `'error'`. */
function library(value: string): unknown {
  try {
    return comparable(parseDictionary(value));
  } catch {
    return 'error';
  }
}

// Characters that matter to the grammar, plus ordinary ones, so mutations hit the edge cases.
const ALPHABET = [
  '"',
  '\\',
  ' ',
  '\t',
  ';',
  '=',
  '(',
  ')',
  ':',
  ',',
  '-',
  '.',
  '*',
  'a',
  'Z',
  '0',
  '9',
  '+',
  '/',
  '\u00e9',
];
const noisy = fc.array(fc.constantFrom(...ALPHABET), { maxLength: 12 }).map((cs) => cs.join(''));
const plain = fc.stringMatching(/^[\x20\x21\x23-\x5b\x5d-\x7e]{0,20}$/);
const paramKey = fc.oneof(
  fc.constantFrom('created', 'expires', 'nonce', 'keyid', 'alg', 'tag'),
  fc.stringMatching(/^[a-z*][a-z0-9_\-.*]{0,6}$/),
);
const paramValue = fc.oneof(
  fc.nat({ max: 2 ** 40 }).map(String),
  plain.map((s) => `"${s}"`),
  fc.constantFrom('hmac-sha256', '?1', '1.5', '-3', '007', ':AAAA:'),
);
const signatureInput = fc
  .tuple(
    fc.array(
      plain.map((s) => `"${s}"`),
      { maxLength: 6 },
    ),
    fc.array(fc.tuple(paramKey, paramValue), { maxLength: 7 }),
  )
  .map(([items, params]) => `sig1=(${items.join(' ')})${params.map(([k, v]) => `;${k}=${v}`).join('')}`);

// The profile's shape with distinct parameter keys: the fast path must take every one of these.
const profileShaped = fc
  .tuple(
    fc.array(
      plain.map((s) => `"${s}"`),
      { maxLength: 6 },
    ),
    fc.uniqueArray(
      fc.tuple(
        paramKey,
        fc.oneof(
          fc.nat({ max: 2 ** 40 }).map(String),
          plain.map((s) => `"${s}"`),
        ),
      ),
      {
        maxLength: 7,
        selector: ([k]) => k,
      },
    ),
  )
  .map(([items, params]) => `sig1=(${items.join(' ')})${params.map(([k, v]) => `;${k}=${v}`).join('')}`);

/** A value with one piece of noise spliced in at some position (or none). */
function mutated(base: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.tuple(base, noisy, fc.nat(), fc.nat({ max: 3 })).map(([s, noise, at, cut]) => {
    const i = at % (s.length + 1);
    return s.slice(0, i) + noise + s.slice(Math.min(s.length, i + cut));
  });
}

/** A `Signature` value of the profile: `sig1=:<base64 of 0–48 bytes>:`. */
const signature = fc.uint8Array({ maxLength: 48 }).map((b) => `sig1=:${Buffer.from(b).toString('base64')}:`);

/** Profile values and mutations of them: whenever `fast` takes one, it must equal the library's parse. */
function agreesWhereAccepted(values: fc.Arbitrary<string>, fast: (v: string) => unknown): void {
  fc.assert(
    fc.property(fc.oneof(values, mutated(values)), (value) => {
      const parsed = fast(value);
      if (parsed !== undefined) expect(comparable(parsed)).toEqual(library(value));
    }),
    { numRuns: 3000 },
  );
}

describe('signature field fast path', () => {
  test('agrees with structured-headers on every Signature-Input it accepts', () => {
    agreesWhereAccepted(signatureInput, parseProfileSignatureInput);
  });

  test('takes every value of the profile shape (so the agreement tests check something)', () => {
    fc.assert(
      fc.property(profileShaped, (value) => {
        const fast = parseProfileSignatureInput(value);
        expect(fast).toBeDefined();
        expect(comparable(fast)).toEqual(library(value));
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(signature, (value) => {
        expect(comparable(parseProfileSignature(value))).toEqual(library(value));
      }),
      { numRuns: 1000 },
    );
  });

  test('agrees with structured-headers on every Signature it accepts', () => {
    agreesWhereAccepted(signature, parseProfileSignature);
  });

  test('takes what signRequest (and so the SDK) sends, and leaves other forms to the library', () => {
    const headers = signRequest({
      method: 'POST',
      url: 'https://latchkey.example/v1/forward?x=1',
      headers: {
        'content-type': 'application/json',
        'latchkey-grant-id': 'g',
        'latchkey-target': 'https://a.example/',
      },
      body: Buffer.from('{}'),
      keyId: 'lk_key_1',
      signingKey: Buffer.alloc(32, 7),
    });
    const input = parseProfileSignatureInput(headers['signature-input']!);
    expect(input).toBeDefined();
    expect(comparable(input)).toEqual(library(headers['signature-input']!));
    expect(comparable(parseProfileSignature(headers['signature']!))).toEqual(library(headers['signature']!));
    // Valid RFC 8941 the fast path does not take: whitespace, a token, an escape, another label.
    for (const other of [
      'sig1=( "@method");created=1',
      'sig1=("@method");alg=hmac-sha256',
      'sig1=("a\\"b");created=1',
      'sig2=("@method");created=1',
      'sig1=("@method");created=1, sig2=("@method")',
    ]) {
      expect(parseProfileSignatureInput(other)).toBeUndefined();
      expect(library(other)).not.toBe('error');
    }
    expect(parseProfileSignature('sig1=:AAAA:;x=1')).toBeUndefined();
    expect(parseProfileSignature('sig1=:AAA:')).toBeUndefined();
  });
});
