import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  deriveSigningKey,
  fingerprint,
  generateToken,
  hashToken,
  hmacSha256,
  digestsEqual,
  tokenDigest,
} from './tokens.js';

describe('generateToken', () => {
  it('is the prefix plus 43 base62 characters for 32 bytes', () => {
    const token = generateToken('lk_app_');
    expect(token).toMatch(/^lk_app_[0-9A-Za-z]{43}$/);
    expect(generateToken('lk_agent_', 16)).toMatch(/^lk_agent_[0-9A-Za-z]{22}$/);
    expect(generateToken('lk_app_')).not.toBe(token);
  });

  it('carries at least the requested entropy', () => {
    for (const bytes of [16, 32, 48, 64]) {
      const body = generateToken('x_', bytes).slice(2);
      expect(body.length * Math.log2(62)).toBeGreaterThanOrEqual(bytes * 8);
    }
  });

  it('draws characters roughly uniformly', () => {
    const counts = new Map<string, number>();
    let total = 0;
    for (let i = 0; i < 2000; i++) {
      for (const c of generateToken('t_').slice(2)) {
        counts.set(c, (counts.get(c) ?? 0) + 1);
        total++;
      }
    }
    expect(counts.size).toBe(62);
    const expected = total / 62;
    // A modulo bias (256 % 62) would push the first 8 characters ~25 % above the rest.
    for (const n of counts.values()) expect(Math.abs(n - expected) / expected).toBeLessThan(0.12);
  });

  it('refuses bad prefixes and sizes', () => {
    expect(() => generateToken('LK ')).toThrow(TypeError);
    expect(() => generateToken('lk_', 8)).toThrow(TypeError);
    expect(() => generateToken('lk_', 32.5)).toThrow(TypeError);
  });
});

describe('hashing and derivation', () => {
  it('hashToken is SHA-256 hex', () => {
    expect(hashToken('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('deriveSigningKey is HMAC-SHA256(apiKey, "latchkey-request-signing-v1")', () => {
    const apiKey = 'lk_app_example';
    const expected = createHmac('sha256', apiKey).update('latchkey-request-signing-v1').digest();
    expect(deriveSigningKey(apiKey)).toEqual(expected);
    expect(deriveSigningKey(apiKey).byteLength).toBe(32);
  });

  it('fingerprint is the first 16 hex of HMAC-SHA256', () => {
    const key = Buffer.from('fp-key');
    const value = Buffer.from('value');
    expect(fingerprint(key, value)).toBe(hmacSha256(key, value).toString('hex').slice(0, 16));
    expect(fingerprint(key, value)).toMatch(/^[0-9a-f]{16}$/);
    expect(fingerprint(Buffer.from('other'), value)).not.toBe(fingerprint(key, value));
  });

  it('digestsEqual compares 32-byte SHA-256 digests and refuses anything else', () => {
    const a = tokenDigest('lk_app_one');
    expect(a.toString('hex')).toBe(hashToken('lk_app_one'));
    expect(digestsEqual(a, tokenDigest('lk_app_one'))).toBe(true);
    expect(digestsEqual(a, tokenDigest('lk_app_two'))).toBe(false);
    expect(digestsEqual(a.subarray(2), a.subarray(2))).toBe(false);
    expect(digestsEqual(Buffer.alloc(0), Buffer.alloc(0))).toBe(false);
    // A malformed stored hash decodes short and never matches.
    expect(digestsEqual(Buffer.from('zz'.repeat(32), 'hex'), a)).toBe(false);
  });
});
