// Types mirroring schema.json. Field names stay snake_case: they are the catalog's data format
// and the wire format, so the server and portal can pass templates through unchanged.

/** Provider kind. Only `managed_secret` templates exist so far; `oauth2` comes later. */
export type ProviderKind = 'managed_secret';

/** Stored credential shapes a template can describe (`aws_sigv4` comes later). */
export type CredentialType = 'bearer' | 'api_key' | 'basic' | 'custom';

/** Grouping used by the portal's provider picker. */
export type ProviderCategory =
  | 'ai'
  | 'analytics'
  | 'cloud'
  | 'communications'
  | 'crm'
  | 'custom'
  | 'devtools'
  | 'email'
  | 'messaging'
  | 'monitoring'
  | 'payments'
  | 'productivity'
  | 'storage';

/** `Authorization: Bearer {token}`; nothing to configure. */
export type BearerInjection = Readonly<Record<string, never>>;

/** One header whose value is `format` with `{token}` (exactly once) replaced by the secret. */
export interface ApiKeyInjection {
  readonly header: string;
  readonly format: string;
}

/** `Authorization: Basic base64(username:password)`; the labels only name the two parts in the UI. */
export interface BasicInjection {
  readonly username_label?: string;
  readonly password_label?: string;
}

/** One named part of a multi-field custom secret, referenced in formats as `{name}`. */
export interface CustomField {
  readonly name: string;
  readonly label: string;
  readonly description?: string;
}

/** A header or query parameter set from a format string. */
export interface CustomParam {
  readonly name: string;
  readonly format: string;
}

/**
 * Several headers and/or query parameters. Without `fields` the secret value is one string and
 * formats reference it as `{token}`; with `fields` the value is a JSON object of those named
 * strings and formats reference `{field_name}`. Absent or empty: the operator chooses per secret.
 */
export interface CustomInjection {
  readonly fields?: readonly CustomField[];
  readonly headers?: readonly CustomParam[];
  readonly query?: readonly CustomParam[];
}

/** Any injection description; which one applies follows from `credential_type`. */
export type Injection = BearerInjection | ApiKeyInjection | BasicInjection | CustomInjection;

/** A cheap authenticated call that proves a stored credential works. */
export interface TestEndpoint {
  readonly method: 'GET' | 'HEAD' | 'POST';
  /** Absolute path (may carry a query) on the origin of `base_url`, e.g. `/v1/models`. */
  readonly path: string;
  /** Expected 2xx status. */
  readonly expect_status: number;
  /** For APIs that answer 200 on failure: a top-level JSON field that must be `true`. */
  readonly expect_json_field_true?: string;
  /** Static non-credential headers the probe needs. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** UI hint about what a secret looks like; never used to reveal or to reject a value. */
export interface ValueHint {
  readonly prefixes?: readonly string[];
  readonly description?: string;
}

/** A non-credential header the provider expects callers to send. Documentation only. */
export interface DocumentedHeader {
  readonly name: string;
  readonly example?: string;
  readonly description: string;
}

interface TemplateBase {
  readonly id: string;
  readonly kind: ProviderKind;
  readonly display_name: string;
  readonly description?: string;
  readonly category: ProviderCategory;
  /** The provider's own authentication docs; required when `allowed_hosts` is not empty. */
  readonly docs_url?: string;
  /** Exact hosts or `*.suffix` patterns; empty means the operator supplies them per secret. */
  readonly allowed_hosts: readonly string[];
  /** Gateway-mode upstream base URL; required when `allowed_hosts` is not empty. */
  readonly base_url?: string;
  readonly test_endpoint?: TestEndpoint;
  readonly value_hint?: ValueHint;
  /** Whether showing the last 4 characters of the stored value is acceptable. */
  readonly last4_visible: boolean;
  readonly required_headers?: readonly DocumentedHeader[];
}

export interface BearerTemplate extends TemplateBase {
  readonly credential_type: 'bearer';
  readonly injection?: BearerInjection;
}

export interface ApiKeyTemplate extends TemplateBase {
  readonly credential_type: 'api_key';
  readonly injection: ApiKeyInjection;
}

export interface BasicTemplate extends TemplateBase {
  readonly credential_type: 'basic';
  readonly injection?: BasicInjection;
}

export interface CustomTemplate extends TemplateBase {
  readonly credential_type: 'custom';
  readonly injection?: CustomInjection;
}

/** One provider template: a catalog entry or a per-app custom template. */
export type ProviderTemplate = BearerTemplate | ApiKeyTemplate | BasicTemplate | CustomTemplate;

/** The loaded, validated and frozen provider catalog. */
export interface Catalog {
  /** Number of templates. */
  readonly size: number;
  /** The template with this id, or `undefined`. */
  get(id: string): ProviderTemplate | undefined;
  /** Whether a template with this id exists. */
  has(id: string): boolean;
  /** Every template, sorted by id. */
  list(): readonly ProviderTemplate[];
}

/** One problem found while loading the catalog. */
export interface CatalogProblem {
  /** File name inside the catalog folder (or the folder itself). */
  readonly file: string;
  /** JSON pointer (RFC 6901) into the entry; `''` for the whole document. */
  readonly pointer: string;
  readonly message: string;
}

/** Result of {@link validateTemplate}. */
export type TemplateValidation =
  | { readonly ok: true; readonly template: ProviderTemplate }
  | { readonly ok: false; readonly errors: readonly string[] };
