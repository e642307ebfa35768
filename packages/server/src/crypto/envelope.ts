/**
 * Three-level envelope encryption (DESIGN §6): root key → per-app KEK → per-record DEK. Keys are
 * 32 random bytes; wrapping is {@link sealValue} with an AAD naming the row that stores the wrapped key.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { openValue, sealValue, type KeyForVersion } from './aead.js';
import { CryptoError } from './errors.js';

const KEY_BYTES = 32;
const KEY_ID_INFO = 'latchkey-key-id-v1';

/**
 * Generates a fresh 256-bit key (KEK or DEK) from the CSPRNG.
 *
 * @returns 32 random bytes.
 * @example const dek = generateKey();
 */
export function generateKey(): Buffer {
  return randomBytes(KEY_BYTES);
}

/**
 * Wraps (seals) a key under a wrapping key, e.g. an app KEK under the root key.
 *
 * @param wrappingKey 32-byte key that wraps.
 * @param wrappingKeyVersion u32 version of `wrappingKey`, stored in the output for routing.
 * @param key 32-byte key to wrap.
 * @param aad AAD naming the row and field that store the wrapped key (see `buildAad`).
 * @returns The sealed key (`sealValue` layout, 65 bytes).
 * @throws {CryptoError} `bad_key` when either key is not 32 bytes.
 * @example const wrapped = wrapKey(rootKey, 1, kek, buildAad({ appId, table: 'app_kek', recordId, field: 'kek_wrapped' }));
 */
export function wrapKey(wrappingKey: Buffer, wrappingKeyVersion: number, key: Buffer, aad: Buffer): Buffer {
  if (!(key instanceof Uint8Array) || key.byteLength !== KEY_BYTES) throw new CryptoError('bad_key');
  return sealValue(wrappingKey, wrappingKeyVersion, key, aad);
}

/**
 * Unwraps a key produced by {@link wrapKey}.
 *
 * @param keyForVersion Returns the wrapping key of a version, or `undefined` if unknown.
 * @param wrapped The wrapped key.
 * @param aad The AAD used when wrapping.
 * @returns The 32-byte key.
 * @throws {CryptoError} Any `openValue` failure, or `bad_key` if the content is not 32 bytes.
 */
export function unwrapKey(keyForVersion: KeyForVersion, wrapped: Buffer, aad: Buffer): Buffer {
  const key = openValue(keyForVersion, wrapped, aad);
  if (key.byteLength !== KEY_BYTES) {
    key.fill(0);
    throw new CryptoError('bad_key');
  }
  return key;
}

/**
 * A public, non-reversible identifier of a key, so stored rows can record which root key wrapped
 * them: the first 16 hex chars (64 bits) of `HMAC-SHA256(key, "latchkey-key-id-v1")`.
 *
 * @param key The key to identify (any length; normally 32 bytes).
 * @returns 16 lowercase hex characters.
 * @example keyId(rootKey) // e.g. '3f9a0c1d2b4e5f60'
 */
export function keyId(key: Buffer): string {
  return createHmac('sha256', key).update(KEY_ID_INFO, 'utf8').digest('hex').slice(0, 16);
}
