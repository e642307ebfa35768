import { describe, expect, it } from 'vitest';
import { buildAad } from './aad.js';
import { openValue, readKeyVersion, sealValue } from './aead.js';
import { generateKey, keyId, unwrapKey, wrapKey } from './envelope.js';
import { CryptoError } from './errors.js';

describe('envelope', () => {
  it('wraps root → KEK → DEK → value and opens it back', () => {
    const root = generateKey();
    const kek = generateKey();
    const dek = generateKey();
    expect(root.byteLength).toBe(32);
    const kekAad = buildAad({
      appId: 'app_1',
      table: 'app_kek',
      recordId: 'kek_1',
      field: 'kek_wrapped',
    });
    const dekAad = buildAad({
      appId: 'app_1',
      table: 'managed_secret',
      recordId: 'ms_1',
      field: 'dek_wrapped',
    });
    const valAad = buildAad({
      appId: 'app_1',
      table: 'managed_secret',
      recordId: 'ms_1',
      field: 'value',
    });

    const wrappedKek = wrapKey(root, 3, kek, kekAad);
    const wrappedDek = wrapKey(kek, 1, dek, dekAad);
    const sealed = sealValue(dek, 1, Buffer.from('v'), valAad);
    expect(readKeyVersion(wrappedKek)).toBe(3);

    const kek2 = unwrapKey((v) => (v === 3 ? root : undefined), wrappedKek, kekAad);
    const dek2 = unwrapKey((v) => (v === 1 ? kek2 : undefined), wrappedDek, dekAad);
    expect(openValue(() => dek2, sealed, valAad).toString()).toBe('v');
    expect(() => unwrapKey(() => root, wrappedKek, dekAad)).toThrow(CryptoError);
  });

  it('refuses to wrap or unwrap something that is not a 32-byte key', () => {
    const root = generateKey();
    const aad = buildAad({ appId: 'a', table: 't', recordId: 'r', field: 'f' });
    expect(() => wrapKey(root, 1, Buffer.alloc(16), aad)).toThrow(CryptoError);
    const notAKey = sealValue(root, 1, Buffer.alloc(16), aad);
    try {
      unwrapKey(() => root, notAKey, aad);
      expect.unreachable();
    } catch (err) {
      expect((err as CryptoError).reason).toBe('bad_key');
    }
  });

  it('keyId is a stable 16-hex public identifier that differs per key', () => {
    const a = generateKey();
    expect(keyId(a)).toMatch(/^[0-9a-f]{16}$/);
    expect(keyId(a)).toBe(keyId(Buffer.from(a)));
    expect(keyId(a)).not.toBe(keyId(generateKey()));
    expect(keyId(a)).not.toContain(a.toString('hex').slice(0, 16));
  });
});
