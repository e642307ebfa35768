import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { buildAad } from './aad.js';
import { aesGcmDecrypt, aesGcmEncrypt, openValue, prepareOpen, readKeyVersion, sealValue } from './aead.js';
import { CryptoError, type CryptoErrorReason } from './errors.js';

const key1 = randomBytes(32);
const key2 = randomBytes(32);
const keyring = new Map([
  [1, key1],
  [7, key2],
]);
const lookup = (v: number): Buffer | undefined => keyring.get(v);
const aad = buildAad({ appId: 'app_1', table: 'managed_secret', recordId: 'ms_1', field: 'value' });
const plaintext = Buffer.from('super-secret-value');

function expectCryptoError(fn: () => unknown, reason: CryptoErrorReason): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CryptoError);
    expect((err as CryptoError).reason).toBe(reason);
    expect((err as Error).message).not.toContain(plaintext.toString());
    return;
  }
  throw new Error('expected a CryptoError');
}

describe('sealValue / openValue', () => {
  it('writes the documented layout and round-trips', () => {
    const sealed = sealValue(key1, 1, plaintext, aad);
    expect(sealed.byteLength).toBe(1 + 4 + 12 + plaintext.byteLength + 16);
    expect(sealed[0]).toBe(1);
    expect(sealed.readUInt32BE(1)).toBe(1);
    expect(readKeyVersion(sealed)).toBe(1);
    expect(openValue(lookup, sealed, aad)).toEqual(plaintext);
  });

  it('uses a fresh nonce for each seal', () => {
    const a = sealValue(key1, 1, plaintext, aad);
    const b = sealValue(key1, 1, plaintext, aad);
    expect(a.subarray(5, 17)).not.toEqual(b.subarray(5, 17));
  });

  it('round-trips an empty plaintext', () => {
    const sealed = sealValue(key1, 1, Buffer.alloc(0), aad);
    expect(sealed.byteLength).toBe(33);
    expect(openValue(lookup, sealed, aad).byteLength).toBe(0);
  });

  it('routes by key version', () => {
    const sealed = sealValue(key2, 7, plaintext, aad);
    expect(readKeyVersion(sealed)).toBe(7);
    expect(openValue(lookup, sealed, aad)).toEqual(plaintext);
    expectCryptoError(() => openValue(() => undefined, sealed, aad), 'unknown_key_version');
    expect(sealValue(key1, 0xffff_ffff, plaintext, aad).readUInt32BE(1)).toBe(0xffff_ffff);
  });

  it('fails when any single byte is tampered', () => {
    const sealed = sealValue(key1, 1, plaintext, aad);
    for (let i = 0; i < sealed.byteLength; i++) {
      const copy = Buffer.from(sealed);
      copy[i]! ^= 0x01;
      expect(() => openValue(lookup, copy, aad), `byte ${i}`).toThrow(CryptoError);
    }
  });

  it('fails with the wrong AAD (another row or field)', () => {
    const sealed = sealValue(key1, 1, plaintext, aad);
    const otherRow = buildAad({
      appId: 'app_1',
      table: 'managed_secret',
      recordId: 'ms_2',
      field: 'value',
    });
    const otherField = buildAad({
      appId: 'app_1',
      table: 'managed_secret',
      recordId: 'ms_1',
      field: 'other',
    });
    expectCryptoError(() => openValue(lookup, sealed, otherRow), 'auth_failed');
    expectCryptoError(() => openValue(lookup, sealed, otherField), 'auth_failed');
  });

  it('fails with the wrong key for the version', () => {
    const sealed = sealValue(key1, 1, plaintext, aad);
    expectCryptoError(() => openValue(() => key2, sealed, aad), 'auth_failed');
  });

  it('rejects truncated input and truncated tags', () => {
    const sealed = sealValue(key1, 1, plaintext, aad);
    expectCryptoError(() => openValue(lookup, sealed.subarray(0, sealed.byteLength - 1), aad), 'auth_failed');
    expectCryptoError(() => openValue(lookup, sealed.subarray(0, sealed.byteLength - 4), aad), 'auth_failed');
    expectCryptoError(() => openValue(lookup, sealed.subarray(0, 32), aad), 'malformed');
    expectCryptoError(() => openValue(lookup, Buffer.alloc(0), aad), 'malformed');
    expectCryptoError(() => readKeyVersion(Buffer.alloc(4)), 'malformed');
  });

  it('rejects an unknown layout version', () => {
    const sealed = sealValue(key1, 1, plaintext, aad);
    sealed[0] = 2;
    expectCryptoError(() => openValue(lookup, sealed, aad), 'malformed');
  });

  it('rejects keys that are not 32 bytes', () => {
    expectCryptoError(() => sealValue(randomBytes(16), 1, plaintext, aad), 'bad_key');
    const sealed = sealValue(key1, 1, plaintext, aad);
    expectCryptoError(() => openValue(() => randomBytes(16), sealed, aad), 'bad_key');
  });

  it('rejects key versions outside u32', () => {
    expect(() => sealValue(key1, -1, plaintext, aad)).toThrow(TypeError);
    expect(() => sealValue(key1, 2 ** 32, plaintext, aad)).toThrow(TypeError);
    expect(() => sealValue(key1, 1.5, plaintext, aad)).toThrow(TypeError);
  });
});

describe('prepareOpen', () => {
  it('opens like openValue, a fresh buffer per call, from its own copies of the key and the value', () => {
    const key = Buffer.from(key1);
    const sealed = sealValue(key, 1, plaintext, aad);
    const open = prepareOpen(key, sealed, aad);
    // The caller zeroes its key and may reuse the sealed bytes: the prepared open does not depend on them.
    key.fill(0);
    sealed.fill(0);
    const a = open();
    expect(a).toEqual(plaintext);
    a.fill(0);
    expect(open()).toEqual(plaintext);
  });

  it('refuses a malformed value or a bad key at once, and tampering or a wrong AAD when called', () => {
    const sealed = sealValue(key1, 1, plaintext, aad);
    expectCryptoError(() => prepareOpen(key1, sealed.subarray(0, 10), aad), 'malformed');
    expectCryptoError(() => prepareOpen(key1.subarray(0, 16), sealed, aad), 'bad_key');
    const tampered = Buffer.from(sealed);
    tampered[tampered.length - 20]! ^= 1;
    expectCryptoError(() => prepareOpen(key1, tampered, aad)(), 'auth_failed');
    const otherAad = buildAad({ appId: 'app_1', table: 'managed_secret', recordId: 'ms_2', field: 'value' });
    expectCryptoError(() => prepareOpen(key1, sealed, otherAad)(), 'auth_failed');
    expectCryptoError(() => prepareOpen(key2, sealed, aad)(), 'auth_failed');
    // The key version in the header is bound too.
    const otherVersion = Buffer.from(sealed);
    otherVersion.writeUInt32BE(7, 1);
    expectCryptoError(() => prepareOpen(key1, otherVersion, aad)(), 'auth_failed');
  });
});

describe('aesGcmEncrypt / aesGcmDecrypt', () => {
  it('refuses truncated tags and wrong IV lengths', () => {
    const iv = randomBytes(12);
    const { ciphertext, tag } = aesGcmEncrypt(key1, iv, plaintext, aad);
    expect(aesGcmDecrypt(key1, iv, ciphertext, tag, aad)).toEqual(plaintext);
    expectCryptoError(() => aesGcmDecrypt(key1, iv, ciphertext, tag.subarray(0, 12), aad), 'malformed');
    expectCryptoError(() => aesGcmDecrypt(key1, iv, ciphertext, tag.subarray(0, 4), aad), 'malformed');
    expectCryptoError(() => aesGcmEncrypt(key1, randomBytes(16), plaintext, aad), 'malformed');
  });
});

describe('buildAad', () => {
  it('is unambiguous across part boundaries', () => {
    const a = buildAad({ appId: 'ab', table: 'c', recordId: 'r', field: 'f' });
    const b = buildAad({ appId: 'a', table: 'bc', recordId: 'r', field: 'f' });
    expect(a).not.toEqual(b);
    expect(a.subarray(2, 17).toString()).toBe('latchkey-aad-v1');
  });

  it('is deterministic and refuses empty or oversized parts', () => {
    const ctx = { appId: 'app', table: 't', recordId: 'r', field: 'f' };
    expect(buildAad(ctx)).toEqual(buildAad({ ...ctx }));
    expect(() => buildAad({ ...ctx, field: '' })).toThrow(TypeError);
    expect(() => buildAad({ ...ctx, recordId: 'x'.repeat(70_000) })).toThrow(TypeError);
  });
});
