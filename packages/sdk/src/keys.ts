/**
 * App API keys: mint (shown once), list and revoke (DESIGN §5).
 */
import { LatchkeyValueError } from './errors.js';
import type { Transport } from './transport.js';
import { assertOptionalInt, assertOptionalString, assertString, isObject, toIsoTimestamp } from './validate.js';
import { deepFreeze, seg, toDate, toDateOrNull, toPage, type Page, type WirePage } from './wire.js';

/** Options of `app.keys.mint()`. */
export interface MintKeyOptions {
  /** Human label (≤ 200 chars). */
  readonly name?: string;
  /** At least one scope, e.g. `['proxy:execute', 'grants:read']` (DESIGN §5). */
  readonly scopes: readonly string[];
  /** When the key stops working. */
  readonly expiresAt?: Date | string;
  /** Refuse `Authorization: Bearer` use of this key: signed requests only (default `false`). */
  readonly signedOnly?: boolean;
  /** Client address allow-list, e.g. `['10.0.0.0/8']`. */
  readonly cidrs?: readonly string[];
  /** Requests per minute this key may make, shared by every replica; unset = unlimited. */
  readonly rateLimitRpm?: number;
}

/** Public metadata of an API key. Frozen. */
export interface KeyMeta {
  /** Public id, `key_…`; also the `keyid` of its request signatures. */
  readonly keyId: string;
  /** First 12 characters of the key, for display and audit. */
  readonly keyPrefix: string;
  readonly kind: 'app' | 'agent';
  readonly name: string | null;
  readonly scopes: readonly string[];
  readonly cidrs: readonly string[];
  readonly status: 'active' | 'deprecated' | 'revoked' | 'expired';
  readonly signedOnly: boolean;
  /** Requests per minute, or null for unlimited. */
  readonly rateLimitRpm: number | null;
  readonly createdAt: Date;
  readonly expiresAt: Date | null;
  readonly revokedAt: Date | null;
}

/** Result of `app.keys.mint()`. Frozen. */
export interface MintKeyResult {
  readonly key: KeyMeta;
  /** The raw key, `lk_app_…`. Shown exactly once: store it in a secret store now. */
  readonly apiKey: string;
}

/** A page of keys. Frozen. */
export interface KeyList extends Page {
  readonly keys: readonly KeyMeta[];
}

/** Wire body of `POST /v1/keys`. */
export interface WireMintKeyBody {
  name?: string;
  scopes: string[];
  expires_at?: string;
  signed_only?: boolean;
  cidrs?: string[];
  rate_limit_rpm?: number;
}

/** Wire form of a key's metadata. */
export interface WireKeyMeta {
  key_id: string;
  key_prefix: string;
  kind: 'app' | 'agent';
  name: string | null;
  scopes: string[];
  cidrs: string[];
  status: 'active' | 'deprecated' | 'revoked' | 'expired';
  signed_only: boolean;
  rate_limit_rpm: number | null;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
}

function stringArray(v: unknown, name: string, min: number): string[] {
  if (!Array.isArray(v) || v.length < min || !v.every((s) => typeof s === 'string')) {
    throw new LatchkeyValueError(`${name} must be an array of at least ${min} strings.`);
  }
  return [...(v as string[])];
}

/** Maps mint options to the wire body. @throws {LatchkeyValueError} On bad arguments. */
export function toWireMintKey(o: MintKeyOptions): WireMintKeyBody {
  if (!isObject(o)) throw new LatchkeyValueError('options must be an object with scopes.');
  assertOptionalString(o.name, 'name', 200);
  const w: WireMintKeyBody = { scopes: stringArray(o.scopes, 'scopes', 1) };
  if (o.name !== undefined) w.name = o.name;
  if (o.expiresAt !== undefined) w.expires_at = toIsoTimestamp(o.expiresAt, 'expiresAt');
  if (o.signedOnly !== undefined) {
    if (typeof o.signedOnly !== 'boolean') throw new LatchkeyValueError('signedOnly must be a boolean.');
    w.signed_only = o.signedOnly;
  }
  if (o.cidrs !== undefined) w.cidrs = stringArray(o.cidrs, 'cidrs', 0);
  if (o.rateLimitRpm !== undefined) {
    if (!Number.isInteger(o.rateLimitRpm) || o.rateLimitRpm < 1 || o.rateLimitRpm > 1_000_000) {
      throw new LatchkeyValueError('rateLimitRpm must be an integer from 1 to 1000000.');
    }
    w.rate_limit_rpm = o.rateLimitRpm;
  }
  return w;
}

/** Maps wire key metadata to a frozen {@link KeyMeta}. */
export function toKeyMeta(w: WireKeyMeta): KeyMeta {
  return deepFreeze({
    keyId: w.key_id,
    keyPrefix: w.key_prefix,
    kind: w.kind,
    name: w.name,
    scopes: [...w.scopes],
    cidrs: [...w.cidrs],
    status: w.status,
    signedOnly: w.signed_only,
    rateLimitRpm: w.rate_limit_rpm,
    createdAt: toDate(w.created_at),
    expiresAt: toDateOrNull(w.expires_at),
    revokedAt: toDateOrNull(w.revoked_at),
  });
}

/** `app.keys`: the app's API keys. Needs a `keys:*` scope (`read` to list, `write` or `admin` to change). */
export class KeysClient {
  readonly #t: Transport;

  /** @internal Obtain through `app.keys`. */
  constructor(transport: Transport) {
    this.#t = transport;
  }

  /**
   * Mints a new app key. The raw key is in the result once and never again.
   *
   * @param options `{ scopes, name?, expiresAt? (Date | ISO string), signedOnly? = false, cidrs? }`.
   * @returns `{ key, apiKey }`.
   * @throws {LatchkeyValueError} Bad arguments, before any I/O.
   * @throws {InsufficientScopeError} Without `keys:write`.
   * @throws {BackendError} `invalid_request` on an unknown scope or CIDR.
   * @example
   * const { apiKey, key } = await app.keys.mint({ name: 'worker', scopes: ['proxy:execute'], signedOnly: true })
   */
  async mint(options: MintKeyOptions): Promise<MintKeyResult> {
    const body = toWireMintKey(options);
    return this.#t.json('POST', '/v1/keys', { body }, (w: { key: WireKeyMeta; api_key: string }) =>
      Object.freeze({ key: toKeyMeta(w.key), apiKey: w.api_key }),
    );
  }

  /**
   * Lists the app's keys (metadata only).
   *
   * @param options `{ limit = 100 (1–500), offset = 0 }`.
   * @returns A frozen page.
   * @throws {InsufficientScopeError} Without `keys:read`.
   * @example const { keys } = await app.keys.list()
   */
  async list(options: { readonly limit?: number; readonly offset?: number } = {}): Promise<KeyList> {
    assertOptionalInt(options.limit, 'limit', 1, 500);
    assertOptionalInt(options.offset, 'offset', 0, 1_000_000_000);
    return this.#t.json(
      'GET',
      '/v1/keys',
      {
        query: { limit: options.limit ?? 100, offset: options.offset ?? 0 },
      },
      (w: WirePage & { keys: WireKeyMeta[] }) =>
        Object.freeze({ keys: Object.freeze(w.keys.map(toKeyMeta)), ...toPage(w) }),
    );
  }

  /**
   * Revokes a key; it stops working on every replica within a second.
   *
   * @param keyId `key_…`.
   * @returns The key's metadata, `status: 'revoked'`.
   * @throws {NotFoundError} `key_not_found`.
   * @example await app.keys.revoke('key_0123456789abcdef01234567')
   */
  async revoke(keyId: string): Promise<KeyMeta> {
    assertString(keyId, 'keyId', 80);
    return this.#t.json('POST', `/v1/keys/${seg(keyId)}/revoke`, {}, toKeyMeta);
  }
}
