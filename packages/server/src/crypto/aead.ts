/**
 * AES-256-GCM sealing of stored values (DESIGN §6, NIST SP 800-38D).
 *
 * Sealed layout: `version u8 (=1) | key_version u32 BE | nonce 12 B | ciphertext | tag 16 B`.
 * The 5-byte header (version and key_version) is authenticated together with the caller's AAD, so
 * a value cannot be re-labelled with another key version.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { CryptoError } from './errors.js';

/** Layout version written by {@link sealValue}. */
export const SEALED_LAYOUT_VERSION = 1;

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + 4;
const MIN_SEALED_BYTES = HEADER_BYTES + IV_BYTES + TAG_BYTES;
const MAX_U32 = 0xffff_ffff;

/** Looks up the key for a key version; `undefined` when that version is unknown. */
export type KeyForVersion = (keyVersion: number) => Buffer | undefined;

function assertKey(key: Uint8Array): void {
  if (!(key instanceof Uint8Array) || key.byteLength !== KEY_BYTES) throw new CryptoError('bad_key');
}

function assertKeyVersion(keyVersion: number): void {
  if (!Number.isInteger(keyVersion) || keyVersion < 0 || keyVersion > MAX_U32) {
    throw new TypeError('keyVersion must be an integer in [0, 2^32 - 1]');
  }
}

/**
 * Encrypts with AES-256-GCM, 96-bit IV and 128-bit tag.
 *
 * @param key 32-byte key.
 * @param iv 12-byte nonce; never reuse one with the same key.
 * @param plaintext Bytes to encrypt (may be empty).
 * @param aad Additional authenticated data (may be empty).
 * @returns The ciphertext (same length as the plaintext) and the 16-byte tag.
 * @throws {CryptoError} `bad_key` for a key that is not 32 bytes, `malformed` for an IV that is not 12 bytes.
 * @example const { ciphertext, tag } = aesGcmEncrypt(key, randomBytes(12), data, Buffer.alloc(0));
 */
export function aesGcmEncrypt(
  key: Uint8Array,
  iv: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array,
): { ciphertext: Buffer; tag: Buffer } {
  assertKey(key);
  if (iv.byteLength !== IV_BYTES) throw new CryptoError('malformed', 'GCM nonce must be 12 bytes');
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { ciphertext, tag: cipher.getAuthTag() };
}

/**
 * Decrypts and authenticates AES-256-GCM with a 96-bit IV and a full 128-bit tag (truncated tags
 * are refused: `authTagLength: 16` is always passed to Node).
 *
 * @param key 32-byte key.
 * @param iv 12-byte nonce.
 * @param ciphertext Ciphertext bytes.
 * @param tag 16-byte authentication tag.
 * @param aad Additional authenticated data used at encryption.
 * @returns The plaintext.
 * @throws {CryptoError} `bad_key`, `malformed` (IV or tag length), or `auth_failed` (tag mismatch).
 */
export function aesGcmDecrypt(
  key: Uint8Array,
  iv: Uint8Array,
  ciphertext: Uint8Array,
  tag: Uint8Array,
  aad: Uint8Array,
): Buffer {
  assertKey(key);
  if (iv.byteLength !== IV_BYTES) throw new CryptoError('malformed', 'GCM nonce must be 12 bytes');
  if (tag.byteLength !== TAG_BYTES) throw new CryptoError('malformed', 'GCM tag must be 16 bytes');
  const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(aad);
  decipher.setAuthTag(tag);
  const head = decipher.update(ciphertext);
  let tail: Buffer;
  try {
    tail = decipher.final();
  } catch {
    head.fill(0);
    throw new CryptoError('auth_failed');
  }
  // GCM is a stream mode: `final` returns nothing, so the plaintext is `head`, not a second copy.
  if (tail.byteLength === 0) return head;
  const out = Buffer.concat([head, tail]);
  head.fill(0);
  return out;
}

function header(keyVersion: number): Buffer {
  const h = Buffer.alloc(HEADER_BYTES);
  h.writeUInt8(SEALED_LAYOUT_VERSION, 0);
  h.writeUInt32BE(keyVersion, 1);
  return h;
}

/**
 * Seals a value: AES-256-GCM under `key` with a fresh random nonce, binding `aad` (see `buildAad`).
 *
 * @param key 32-byte key (a DEK, or a KEK/root key when wrapping keys).
 * @param keyVersion Version of `key`, u32, stored in clear so {@link openValue} can route to it.
 * @param plaintext Bytes to seal.
 * @param aad Context the value belongs to; the same bytes are required to open it.
 * @returns `version u8 | key_version u32 BE | nonce 12 B | ciphertext | tag 16 B`.
 * @throws {CryptoError} `bad_key` for a key that is not 32 bytes.
 * @throws {TypeError} For a key version outside u32.
 * @example const sealed = sealValue(dek, 1, Buffer.from(secret), buildAad({ appId, table, recordId, field }));
 */
export function sealValue(key: Buffer, keyVersion: number, plaintext: Buffer, aad: Buffer): Buffer {
  assertKey(key);
  assertKeyVersion(keyVersion);
  const h = header(keyVersion);
  const iv = randomBytes(IV_BYTES);
  const { ciphertext, tag } = aesGcmEncrypt(key, iv, plaintext, Buffer.concat([h, aad]));
  return Buffer.concat([h, iv, ciphertext, tag]);
}

/**
 * Reads the key version of a sealed value without decrypting it (for rotation and key routing).
 *
 * @param sealed A value produced by {@link sealValue}.
 * @returns The u32 key version.
 * @throws {CryptoError} `malformed` when too short or of an unknown layout version.
 */
export function readKeyVersion(sealed: Uint8Array): number {
  if (!(sealed instanceof Uint8Array) || sealed.byteLength < MIN_SEALED_BYTES) {
    throw new CryptoError('malformed');
  }
  if (sealed[0] !== SEALED_LAYOUT_VERSION) throw new CryptoError('malformed');
  return Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength).readUInt32BE(1);
}

/**
 * Opens a value produced by {@link sealValue}.
 *
 * @param keyForVersion Returns the 32-byte key of a key version, or `undefined` if unknown.
 * @param sealed The sealed bytes.
 * @param aad The same AAD given at sealing.
 * @returns The plaintext.
 * @throws {CryptoError} `malformed` (short input or unknown layout version), `unknown_key_version`,
 *   `bad_key` (the key found is not 32 bytes), or `auth_failed` (tampering, wrong key or wrong AAD).
 * @example const secret = openValue((v) => deks.get(v), sealed, aad);
 */
export function openValue(keyForVersion: KeyForVersion, sealed: Buffer, aad: Buffer): Buffer {
  const keyVersion = readKeyVersion(sealed);
  const key = keyForVersion(keyVersion);
  if (key === undefined) throw new CryptoError('unknown_key_version');
  assertKey(key);
  const h = sealed.subarray(0, HEADER_BYTES);
  const iv = sealed.subarray(HEADER_BYTES, HEADER_BYTES + IV_BYTES);
  const ciphertext = sealed.subarray(HEADER_BYTES + IV_BYTES, sealed.byteLength - TAG_BYTES);
  const tag = sealed.subarray(sealed.byteLength - TAG_BYTES);
  return aesGcmDecrypt(key, iv, ciphertext, tag, Buffer.concat([h, aad]));
}

/**
 * Prepares repeated opening of one sealed value (the proxy's hot path): the layout is parsed, the
 * key version checked and the header-bound AAD built once, so each call of the returned function
 * is one AES-256-GCM decryption.
 *
 * The function keeps a copy of `key` and of the value in one allocation of its own, outside Node's
 * shared 8 KiB Buffer pool: a long-lived slice of that pool keeps the whole slab alive, so thousands
 * of cached credentials would pin megabytes of otherwise free memory. `key` and `sealed` are not
 * kept: the caller may zero `key` once this returns. Drop the function to forget its copy.
 *
 * @param key the 32-byte key of the value's key version (a DEK).
 * @param sealed the sealed bytes from {@link sealValue}.
 * @param aad the AAD given at sealing.
 * @returns a function returning a fresh plaintext buffer on every call.
 * @throws {CryptoError} `malformed`, `bad_key` now; `auth_failed` from the returned function.
 */
export function prepareOpen(key: Buffer, sealed: Buffer, aad: Buffer): () => Buffer {
  readKeyVersion(sealed);
  assertKey(key);
  // One unpooled block: key | sealed | header | aad.
  const own = Buffer.allocUnsafeSlow(KEY_BYTES + sealed.byteLength + HEADER_BYTES + aad.byteLength);
  let at = key.copy(own, 0);
  const s = own.subarray(at, (at += sealed.copy(own, at)));
  const fullAad = own.subarray(at, at + HEADER_BYTES + aad.byteLength);
  sealed.copy(fullAad, 0, 0, HEADER_BYTES);
  aad.copy(fullAad, HEADER_BYTES);
  const ownKey = own.subarray(0, KEY_BYTES);
  const iv = s.subarray(HEADER_BYTES, HEADER_BYTES + IV_BYTES);
  const ciphertext = s.subarray(HEADER_BYTES + IV_BYTES, s.byteLength - TAG_BYTES);
  const tag = s.subarray(s.byteLength - TAG_BYTES);
  return () => aesGcmDecrypt(ownKey, iv, ciphertext, tag, fullAad);
}
