// Types mirroring schema.json. Field names stay snake_case: they are the catalog's data format
// and the wire format, so the server and portal can pass templates through unchanged.

/** Provider kind: a stored credential template or an OAuth 2.0 provider entry (DESIGN.md §2, §8). */
export type ProviderKind = 'managed_secret' | 'oauth2';

/** Stored credential shapes a template can describe. */
export type CredentialType = 'bearer' | 'api_key' | 'basic' | 'custom' | 'aws_sigv4';

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

/**
 * AWS Signature V4 over the final request; `region` and `service` (signing name) come from the host
 * (`s3.eu-west-1.amazonaws.com`) unless set here. The secret is `{access_key_id, secret_access_key, session_token?}`.
 */
export interface AwsSigV4Injection {
  readonly region?: string;
  readonly service?: string;
}

/** Any injection description; which one applies follows from `credential_type`. */
export type Injection = BearerInjection | ApiKeyInjection | BasicInjection | CustomInjection | AwsSigV4Injection;

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
  readonly kind: 'managed_secret';
  readonly display_name: string;
  readonly description?: string;
  readonly category: ProviderCategory;
  /** The provider's own authentication docs; required when `allowed_hosts` is not empty. */
  readonly docs_url?: string;
  /** Exact hosts or `*.suffix` patterns; empty means the operator supplies them per secret. */
  readonly allowed_hosts: readonly string[];
  /** Gateway-mode upstream base URL; required when `allowed_hosts` lists an exact host. */
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

export interface AwsSigV4Template extends TemplateBase {
  readonly credential_type: 'aws_sigv4';
  readonly injection?: AwsSigV4Injection;
}

/** A managed-secret template: how one stored credential is injected. */
export type ManagedSecretTemplate = BearerTemplate | ApiKeyTemplate | BasicTemplate | CustomTemplate | AwsSigV4Template;

/** How an OAuth provider refreshes tokens. */
export interface RefreshBehaviour {
  /** A refresh may return a new refresh token that replaces the old one. */
  readonly rotates_refresh_token: boolean;
  /** Refresh tokens expire (or become single-use) after a period. */
  readonly refresh_token_expires: boolean;
  /** A scope that must be requested to receive a refresh token at all (`offline_access`). */
  readonly requires_scope?: string;
}

/** An OAuth 2.0 provider entry (DESIGN.md §8). Holds no secret: apps add their own client. */
export interface OAuth2Template {
  readonly id: string;
  readonly kind: 'oauth2';
  readonly display_name: string;
  readonly description?: string;
  readonly category: ProviderCategory;
  /** The provider's own page about its authorization-code flow. */
  readonly docs_url: string;
  readonly authorization_endpoint: string;
  readonly token_endpoint: string;
  /** RFC 7009 revocation endpoint, when the provider has one. */
  readonly revocation_endpoint?: string;
  readonly userinfo_endpoint?: string;
  /** How scopes are joined in the `scope` parameter. */
  readonly scope_separator: ' ' | ',';
  /** RFC 7636 support. */
  readonly pkce: 'required' | 'supported' | 'unsupported';
  readonly default_scopes: readonly string[];
  /** How the client authenticates at the token endpoint (RFC 6749 §2.3.1). */
  readonly token_auth_method: 'client_secret_basic' | 'client_secret_post';
  /** Extra static authorization-request parameters (`access_type=offline`). */
  readonly authorization_params?: Readonly<Record<string, string>>;
  /** Absent: the provider issues no refresh tokens. */
  readonly refresh?: RefreshBehaviour;
  readonly allowed_hosts: readonly string[];
  /** API base URL the access token is used against. */
  readonly base_url?: string;
  readonly required_headers?: readonly DocumentedHeader[];
}

/** One provider template: a catalog entry or a per-app custom template, of either kind. */
export type ProviderTemplate = ManagedSecretTemplate | OAuth2Template;

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
