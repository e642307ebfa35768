/**
 * Managed secrets: store, list, read metadata, update, rotate and delete write-only credentials
 * (DESIGN §6). The value goes in and never comes back.
 */
import { LatchkeyValueError } from './errors.js';
import type { Transport } from './transport.js';
import { assertOptionalInt, assertOptionalString, assertString, isObject } from './validate.js';
import { deepFreeze, seg, toDate, toDateOrNull, toPage, type Page, type WirePage } from './wire.js';

/** Credential type of a managed secret (`aws_sigv4`: AWS Signature V4, see `awsRequestHandler`). */
export type SecretType = 'bearer' | 'api_key' | 'basic' | 'custom' | 'aws_sigv4';

/**
 * A secret value: a string (`bearer`, `api_key`), `{ username, password }` (`basic`),
 * `{ access_key_id, secret_access_key, session_token? }` (`aws_sigv4`) or a map of named fields
 * (`custom`, keys like `client_id`). Sent verbatim; at most 16 KiB.
 */
export type SecretValue =
  string | { readonly username: string; readonly password: string } | Readonly<Record<string, string>>;

/** One header or query parameter a `custom` secret injects; `format` names value fields as `{field}`. */
export interface InjectionTarget {
  readonly name: string;
  readonly format: string;
}

/** How the server injects the credential (non-secret configuration). */
export interface Injection {
  /** `api_key`: header name, e.g. `x-api-key`. */
  readonly header?: string;
  /** `api_key`: value format containing `{token}` once, e.g. `Token {token}`. */
  readonly format?: string;
  /** `custom`: headers to set. */
  readonly headers?: readonly InjectionTarget[];
  /** `custom`: query parameters to set. */
  readonly query?: readonly InjectionTarget[];
  /** `aws_sigv4`: signing region, e.g. `eu-west-1`; read from the host when absent. */
  readonly region?: string;
  /** `aws_sigv4`: signing name, e.g. `s3`, `bedrock`; read from the host when absent. */
  readonly service?: string;
}

/** Options of `app.managedSecrets.create()`. */
export interface CreateManagedSecretOptions {
  /** Unique per app: lowercase letters, digits, `-`, `_` (≤ 63). */
  readonly slug: string;
  readonly name?: string;
  readonly description?: string;
  /** Provider template id from the catalog, e.g. `stripe`. */
  readonly templateId?: string;
  /** Required unless the template implies it. */
  readonly type?: SecretType;
  /** The credential. */
  readonly value: SecretValue;
  readonly injection?: Injection;
  /** Hosts the credential may be sent to: `api.example.com` or `*.example.com`. */
  readonly allowedHosts?: readonly string[];
  /**
   * Gateway base URL (`/gw/{grant_id}/{path}` forwards to `{baseUrl}/{path}`); its host must be in
   * `allowedHosts`. Defaults to the template's base URL.
   */
  readonly baseUrl?: string;
}

/** Options of `app.managedSecrets.update()`: metadata only. `description: null` clears it. */
export interface UpdateManagedSecretOptions {
  readonly name?: string;
  readonly description?: string | null;
  readonly allowedHosts?: readonly string[];
  /** Gateway base URL; `null` clears it (the template's applies again). */
  readonly baseUrl?: string | null;
}

/** Public metadata of a managed secret, never its value. Frozen. */
export interface ManagedSecret {
  /** `ms_…`. */
  readonly id: string;
  readonly slug: string;
  readonly name: string | null;
  readonly description: string | null;
  readonly type: SecretType;
  readonly templateId: string | null;
  readonly injection: Injection;
  readonly allowedHosts: readonly string[];
  /** The secret's own gateway base URL; `null` when the template's (if any) applies. */
  readonly baseUrl: string | null;
  /** First 16 hex of an HMAC of the value under a per-app key. */
  readonly fingerprint: string;
  /** Last 4 characters, where the template allows showing them. */
  readonly last4: string | null;
  /** Incremented by each rotation. */
  readonly version: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly rotatedAt: Date | null;
}

/** A page of managed secrets. Frozen. */
export interface ManagedSecretList extends Page {
  readonly managedSecrets: readonly ManagedSecret[];
}

/** Result of `app.managedSecrets.delete()`. Frozen. */
export interface DeleteManagedSecretResult {
  readonly id: string;
  readonly deleted: true;
  /** Grants revoked along with the secret. */
  readonly revokedGrants: number;
}

/** Wire answer of `DELETE /v1/managed-secrets/{id}`. */
export interface WireDeleteSecretResponse {
  id: string;
  deleted: true;
  revoked_grants: number;
}

/** Wire form of {@link Injection}. */
export interface WireInjection {
  header?: string;
  format?: string;
  headers?: { name: string; format: string }[];
  query?: { name: string; format: string }[];
  region?: string;
  service?: string;
}

/** Wire body of `POST /v1/managed-secrets`. */
export interface WireCreateSecretBody {
  slug: string;
  name?: string;
  description?: string;
  template_id?: string;
  type?: SecretType;
  value: string | { username: string; password: string } | Record<string, string>;
  injection?: WireInjection;
  allowed_hosts?: string[];
  base_url?: string;
}

/** Wire body of `PATCH /v1/managed-secrets/{id}`. */
export interface WireUpdateSecretBody {
  name?: string;
  description?: string | null;
  allowed_hosts?: string[];
  base_url?: string | null;
}

/** Wire form of a managed secret. */
export interface WireSecretMeta {
  id: string;
  slug: string;
  name: string | null;
  description: string | null;
  type: SecretType;
  template_id: string | null;
  injection: WireInjection;
  allowed_hosts: string[];
  base_url: string | null;
  fingerprint: string;
  last4: string | null;
  version: number;
  created_at: string;
  updated_at: string;
  rotated_at: string | null;
}

function copyTargets(v: readonly InjectionTarget[] | undefined): { name: string; format: string }[] | undefined {
  return v?.map((t) => ({ name: t.name, format: t.format }));
}

/** Copies an injection config field by field (same names on both sides). */
export function copyInjection(i: Injection): WireInjection {
  const w: WireInjection = {};
  if (i.header !== undefined) w.header = i.header;
  if (i.format !== undefined) w.format = i.format;
  const headers = copyTargets(i.headers);
  if (headers !== undefined) w.headers = headers;
  const query = copyTargets(i.query);
  if (query !== undefined) w.query = query;
  if (i.region !== undefined) w.region = i.region;
  if (i.service !== undefined) w.service = i.service;
  return w;
}

function copyValue(v: SecretValue): WireCreateSecretBody['value'] {
  if (typeof v === 'string') {
    if (v.length === 0) throw new LatchkeyValueError('value must not be empty.');
    return v;
  }
  if (!isObject(v) || !Object.values(v).every((x) => typeof x === 'string')) {
    throw new LatchkeyValueError('value must be a string or an object of string fields.');
  }
  // Field names are the secret's own (e.g. `client_id`) and are sent exactly as given.
  return { ...(v as Record<string, string>) };
}

function copyHosts(v: readonly string[] | undefined, name: string): string[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || !v.every((h) => typeof h === 'string')) {
    throw new LatchkeyValueError(`${name} must be an array of host patterns.`);
  }
  return [...v];
}

/** Maps a wire secret to a frozen {@link ManagedSecret}. */
export function toManagedSecret(w: WireSecretMeta): ManagedSecret {
  return deepFreeze({
    id: w.id,
    slug: w.slug,
    name: w.name,
    description: w.description,
    type: w.type,
    templateId: w.template_id,
    injection: copyInjection(w.injection),
    allowedHosts: [...w.allowed_hosts],
    baseUrl: w.base_url ?? null,
    fingerprint: w.fingerprint,
    last4: w.last4,
    version: w.version,
    createdAt: toDate(w.created_at),
    updatedAt: toDate(w.updated_at),
    rotatedAt: toDateOrNull(w.rotated_at),
  });
}

/** Maps create options to the wire body. @throws {LatchkeyValueError} On bad arguments. */
export function toWireCreateSecret(o: CreateManagedSecretOptions): WireCreateSecretBody {
  if (!isObject(o)) throw new LatchkeyValueError('options must be an object with slug and value.');
  assertString(o.slug, 'slug', 63);
  assertOptionalString(o.name, 'name', 200);
  assertOptionalString(o.description, 'description', 1000);
  assertOptionalString(o.templateId, 'templateId', 64);
  assertOptionalString(o.type, 'type', 20);
  const w: WireCreateSecretBody = { slug: o.slug, value: copyValue(o.value) };
  if (o.name !== undefined) w.name = o.name;
  if (o.description !== undefined) w.description = o.description;
  if (o.templateId !== undefined) w.template_id = o.templateId;
  if (o.type !== undefined) w.type = o.type;
  if (o.injection !== undefined) {
    if (!isObject(o.injection)) throw new LatchkeyValueError('injection must be an object.');
    w.injection = copyInjection(o.injection);
  }
  const hosts = copyHosts(o.allowedHosts, 'allowedHosts');
  if (hosts !== undefined) w.allowed_hosts = hosts;
  assertOptionalString(o.baseUrl, 'baseUrl', 2048);
  if (o.baseUrl !== undefined) w.base_url = o.baseUrl;
  return w;
}

/** Maps update options to the wire body. @throws {LatchkeyValueError} On bad arguments. */
export function toWireUpdateSecret(o: UpdateManagedSecretOptions): WireUpdateSecretBody {
  if (!isObject(o)) throw new LatchkeyValueError('options must be an object.');
  assertOptionalString(o.name, 'name', 200);
  if (o.description !== null) assertOptionalString(o.description, 'description', 1000);
  const w: WireUpdateSecretBody = {};
  if (o.name !== undefined) w.name = o.name;
  if (o.description !== undefined) w.description = o.description;
  const hosts = copyHosts(o.allowedHosts, 'allowedHosts');
  if (hosts !== undefined) w.allowed_hosts = hosts;
  if (o.baseUrl !== null) assertOptionalString(o.baseUrl, 'baseUrl', 2048);
  if (o.baseUrl !== undefined) w.base_url = o.baseUrl;
  return w;
}

/**
 * `app.managedSecrets`: write-only credentials. Every method needs a `secrets:*` scope on the key
 * (`read` for list/get, `write` for the rest).
 */
export class ManagedSecretsClient {
  readonly #t: Transport;

  /** @internal Obtain through `app.managedSecrets`. */
  constructor(transport: Transport) {
    this.#t = transport;
  }

  /**
   * Stores a credential.
   *
   * @param options `{ slug, value, type?, templateId?, name?, description?, injection?, allowedHosts? }`.
   * @returns Its metadata (never the value).
   * @throws {LatchkeyValueError} Bad arguments, before any I/O.
   * @throws {ConflictError} `managed_secret_slug_exists`.
   * @throws {BackendError} `invalid_request` (see `details`), and any error of {@link App}.
   * @example
   * const s = await app.managedSecrets.create({ slug: 'stripe', type: 'bearer', value: process.env.STRIPE_KEY!, allowedHosts: ['api.stripe.com'] })
   */
  async create(options: CreateManagedSecretOptions): Promise<ManagedSecret> {
    const body = toWireCreateSecret(options);
    return this.#t.json('POST', '/v1/managed-secrets', { body }, toManagedSecret);
  }

  /**
   * Lists managed secrets.
   *
   * @param options `{ limit = 100 (1–500), offset = 0 }`.
   * @returns A frozen page.
   * @throws {InsufficientScopeError} Without `secrets:read`.
   * @example const { managedSecrets, hasMore } = await app.managedSecrets.list({ limit: 50 })
   */
  async list(options: { readonly limit?: number; readonly offset?: number } = {}): Promise<ManagedSecretList> {
    assertOptionalInt(options.limit, 'limit', 1, 500);
    assertOptionalInt(options.offset, 'offset', 0, 1_000_000_000);
    return this.#t.json(
      'GET',
      '/v1/managed-secrets',
      {
        query: { limit: options.limit ?? 100, offset: options.offset ?? 0 },
      },
      (w: WirePage & { managed_secrets: WireSecretMeta[] }) =>
        Object.freeze({ managedSecrets: Object.freeze(w.managed_secrets.map(toManagedSecret)), ...toPage(w) }),
    );
  }

  /**
   * Reads one managed secret's metadata.
   *
   * @param id `ms_…`.
   * @throws {NotFoundError} `managed_secret_not_found`.
   * @example const s = await app.managedSecrets.get('ms_abc123def456')
   */
  async get(id: string): Promise<ManagedSecret> {
    assertString(id, 'id', 80);
    return this.#t.json('GET', `/v1/managed-secrets/${seg(id)}`, {}, toManagedSecret);
  }

  /**
   * Updates metadata (never the value: use {@link ManagedSecretsClient.rotate}).
   *
   * @param id `ms_…`.
   * @param options `{ name?, description? (null clears), allowedHosts? }`.
   * @throws {NotFoundError} `managed_secret_not_found`.
   * @example await app.managedSecrets.update(id, { allowedHosts: ['api.stripe.com'] })
   */
  async update(id: string, options: UpdateManagedSecretOptions): Promise<ManagedSecret> {
    assertString(id, 'id', 80);
    const body = toWireUpdateSecret(options);
    return this.#t.json('PATCH', `/v1/managed-secrets/${seg(id)}`, { body }, toManagedSecret);
  }

  /**
   * Replaces the value in place: the id and every grant stay valid.
   *
   * @param id `ms_…`.
   * @param value The new credential (same shape as on create).
   * @returns The metadata with `version` incremented.
   * @throws {NotFoundError} `managed_secret_not_found`.
   * @example await app.managedSecrets.rotate(id, newToken)
   */
  async rotate(id: string, value: SecretValue): Promise<ManagedSecret> {
    assertString(id, 'id', 80);
    const body = { value: copyValue(value) };
    return this.#t.json('POST', `/v1/managed-secrets/${seg(id)}/rotate`, { body }, toManagedSecret);
  }

  /**
   * Deletes the secret and revokes its grants.
   *
   * @param id `ms_…`.
   * @returns `{ id, deleted: true, revokedGrants }`.
   * @throws {NotFoundError} `managed_secret_not_found`.
   * @example const { revokedGrants } = await app.managedSecrets.delete(id)
   */
  async delete(id: string): Promise<DeleteManagedSecretResult> {
    assertString(id, 'id', 80);
    return this.#t.json(
      'DELETE',
      `/v1/managed-secrets/${seg(id)}`,
      {},
      (w: WireDeleteSecretResponse): DeleteManagedSecretResult =>
        Object.freeze({ id: w.id, deleted: w.deleted, revokedGrants: w.revoked_grants }),
    );
  }
}
