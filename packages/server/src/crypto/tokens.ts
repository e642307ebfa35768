/**
 * Prefixed random tokens (API keys, setup links), their SHA-256 storage form, the request-signing
 * key derivation of DESIGN §5, and value fingerprints of DESIGN §6.
 */
import { createHmac, hash, randomBytes, timingSafeEqual } from 'node:crypto';
import { REQUEST_SIGNING_KEY_INFO } from '@latchkey/api';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
// Largest multiple of 62 that fits in a byte: bytes ≥ 248 are rejected so `byte % 62` is uniform.
const BASE62_LIMIT = 248;
const BITS_PER_BASE62_CHAR = Math.log2(62);
const TOKEN_PREFIX = /^[a-z][a-z0-9_]{0,31}$/;

/**
 * Generates a prefixed random token, e.g. `lk_app_` + 43 base62 characters. Characters are drawn by
 * rejection sampling (unbiased), and there are enough of them to carry at least `bytes * 8` bits.
 *
 * @param prefix Lowercase prefix such as `lk_app_` or `lk_agent_` (letters, digits, `_`; ≤ 32 chars).
 * @param bytes Entropy in bytes (integer 16–1024, default 32 → 43 characters).
 * @returns `prefix` followed by the base62 characters.
 * @throws {TypeError} On an invalid prefix or byte count.
 * @example generateToken('lk_app_') // 'lk_app_3kTMd0…'
 */
export function generateToken(prefix: string, bytes = 32): string {
  if (!TOKEN_PREFIX.test(prefix)) throw new TypeError('invalid token prefix');
  if (!Number.isInteger(bytes) || bytes < 16 || bytes > 1024) {
    throw new TypeError('bytes must be an integer between 16 and 1024');
  }
  const length = Math.ceil((bytes * 8) / BITS_PER_BASE62_CHAR);
  let out = '';
  while (out.length < length) {
    // Over-draw so one round almost always suffices (acceptance rate is 248/256).
    const pool = randomBytes(length - out.length + 16);
    for (const b of pool) {
      if (b < BASE62_LIMIT) {
        out += BASE62[b % 62];
        if (out.length === length) break;
      }
    }
  }
  return prefix + out;
}

/**
 * HMAC-SHA256 (RFC 2104) of `data` under `key`.
 *
 * @param key Key bytes (any length).
 * @param data Bytes, or a string hashed as UTF-8.
 * @returns The 32-byte MAC.
 */
export function hmacSha256(key: Uint8Array, data: Uint8Array | string): Buffer {
  const mac = createHmac('sha256', key);
  return (typeof data === 'string' ? mac.update(data, 'utf8') : mac.update(data)).digest();
}

/**
 * Hashes a token for storage and lookup (DESIGN §5: tokens are stored as SHA-256 only).
 *
 * @param token The full token, prefix included.
 * @returns Lowercase hex SHA-256 of its UTF-8 bytes (64 chars).
 */
export function hashToken(token: string): string {
  return hash('sha256', token, 'hex');
}

/**
 * Derives the request-signing key of an API key:
 * `HMAC-SHA256(key = utf8(apiKey), data = "latchkey-request-signing-v1")` (DESIGN §5). The SDK derives
 * the same key, so the raw API key never crosses the wire after it is minted.
 *
 * @param apiKey The full API key.
 * @returns The 32-byte signing key.
 */
export function deriveSigningKey(apiKey: string): Buffer {
  return hmacSha256(Buffer.from(apiKey, 'utf8'), REQUEST_SIGNING_KEY_INFO);
}

/**
 * Fingerprint of a secret value for display (DESIGN §6): the first 16 hex chars of
 * `HMAC-SHA256(fingerprintKey, value)`. Keyed per app so equal values cannot be correlated across apps.
 *
 * @param fingerprintKey The app's fingerprint key.
 * @param value The secret value bytes.
 * @returns 16 lowercase hex characters.
 */
export function fingerprint(fingerprintKey: Buffer, value: Buffer): string {
  return hmacSha256(fingerprintKey, value).toString('hex').slice(0, 16);
}

/**
 * The raw SHA-256 of a token's UTF-8 bytes (32 bytes): what bearer authentication compares, and the
 * bytes of {@link hashToken}'s hex.
 */
export function tokenDigest(token: string): Buffer {
  return hash('sha256', token, 'buffer');
}

/**
 * Compares two SHA-256 digests (e.g. a stored key hash and a presented key's hash) in constant time,
 * without hashing them again.
 *
 * @returns True when both are 32 bytes and equal.
 */
export function digestsEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === 32 && b.byteLength === 32 && timingSafeEqual(a, b);
}
