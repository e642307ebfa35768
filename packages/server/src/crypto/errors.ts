/**
 * Errors of the crypto module. Each carries a closed `reason` union for logs and branching; messages
 * are fixed strings and never contain key material, plaintext or signatures.
 */

/** Why sealing or opening a value failed. */
export type CryptoErrorReason = 'malformed' | 'unknown_key_version' | 'auth_failed' | 'bad_key';

/**
 * Thrown when a sealed value cannot be opened (or a key cannot be used).
 *
 * - `malformed`: too short, unknown layout version, wrong IV/tag length.
 * - `unknown_key_version`: the keyring has no key for the stored key version.
 * - `auth_failed`: the GCM tag did not verify (tampered bytes, wrong key, or wrong AAD).
 * - `bad_key`: a key is not 32 bytes.
 */
export class CryptoError extends Error {
  /** Machine-readable cause. */
  readonly reason: CryptoErrorReason;

  /**
   * @param reason Machine-readable cause.
   * @param message Human-readable text; must never include secret material.
   */
  constructor(reason: CryptoErrorReason, message: string = defaultCryptoMessage[reason]) {
    super(message);
    this.name = 'CryptoError';
    this.reason = reason;
  }
}

const defaultCryptoMessage: Record<CryptoErrorReason, string> = {
  malformed: 'sealed value is malformed',
  unknown_key_version: 'sealed value references an unknown key version',
  auth_failed: 'sealed value failed authentication',
  bad_key: 'encryption key must be 32 bytes',
};

/** Why the root (master) key could not be loaded. */
export type MasterKeyErrorReason = 'bad_format' | 'conflict' | 'insecure_permissions' | 'unreadable' | 'wrong_key';

/**
 * Thrown when the root key configuration is unusable: a value that is not 32 bytes as base64 or hex
 * (`bad_format`), both `LATCHKEY_MASTER_KEY` and `LATCHKEY_MASTER_KEY_FILE` set (`conflict`), a
 * data-dir key file readable by group/others (`insecure_permissions`), or an I/O failure
 * (`unreadable`). The message says what to fix and never includes the key.
 */
export class MasterKeyError extends Error {
  /** Machine-readable cause. */
  readonly reason: MasterKeyErrorReason;

  /**
   * @param reason Machine-readable cause.
   * @param message Actionable text; must never include the key.
   * @param options Optional `cause` (an underlying I/O error).
   */
  constructor(reason: MasterKeyErrorReason, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MasterKeyError';
    this.reason = reason;
  }
}

/**
 * Why a signed request was rejected. Callers answer every reason with the same `401 unauthorized`
 * body (replays with `replayed_request`); the reason is for logs only.
 */
export type SignatureErrorReason =
  | 'missing'
  | 'malformed'
  | 'unsupported'
  | 'unknown_key'
  | 'bad_signature'
  | 'clock_skew'
  | 'expired'
  | 'digest_mismatch'
  | 'replayed';

/** Thrown by request-signature verification; see {@link SignatureErrorReason}. */
export class SignatureError extends Error {
  /** Machine-readable cause, for logs only. */
  readonly reason: SignatureErrorReason;

  /**
   * @param reason Machine-readable cause.
   * @param message Short text for logs; must never include a key or signature bytes.
   */
  constructor(reason: SignatureErrorReason, message: string = `request signature rejected: ${reason}`) {
    super(message);
    this.name = 'SignatureError';
    this.reason = reason;
  }
}
