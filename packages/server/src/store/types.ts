import type { Generated, Kysely, Transaction } from 'kysely';

/**
 * Table types. Portable across SQLite and PostgreSQL: timestamps are ISO-8601 UTC strings
 * (`Date#toISOString()`, so they sort as text), booleans are integers 0/1, JSON is text, sealed
 * values are base64 text (opaque to the store; only services seal and open them).
 */
export interface AppsTable {
  id: string;
  name: string;
  kek_version: number;
  fingerprint_key_wrapped: string;
  created_at: string;
}

export interface AppKeksTable {
  app_id: string;
  version: number;
  wrapped_kek: string;
  root_key_id: string;
  created_at: string;
}

export interface ApiKeysTable {
  id: string;
  app_id: string;
  kind: string;
  agent_id: string | null;
  name: string | null;
  key_prefix: string;
  key_hash: string;
  signing_key_sealed: string;
  scopes: string;
  cidrs: string;
  signed_only: number;
  status: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  rate_limit_rpm: number | null;
}

export interface ManagedSecretsTable {
  id: string;
  app_id: string;
  slug: string;
  name: string | null;
  description: string | null;
  type: string;
  template_id: string | null;
  injection: string;
  allowed_hosts: string;
  /** Gateway base URL (migration 0003); null: the template's applies. */
  base_url: string | null;
  value_sealed: string | null;
  dek_wrapped: string | null;
  fingerprint: string;
  last4: string | null;
  version: number;
  created_at: string;
  updated_at: string;
  rotated_at: string | null;
  deleted_at: string | null;
}

export interface GrantsTable {
  id: string;
  app_id: string;
  kind: string;
  managed_secret_id: string | null;
  provider_id: string | null;
  principal_type: string;
  principal_label: string | null;
  agent_id: string | null;
  label: string | null;
  policy_expires_at: string | null;
  max_ttl_seconds: number | null;
  default_ttl_seconds: number | null;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  revoked_reason: string | null;
  /** `user` grants (migration 0006): the app user bound to the grant. */
  app_user_id: string | null;
  /** `group` grants (migration 0006): the IDP group id and the identity provider it belongs to. */
  external_group_id: string | null;
  idp_id: string | null;
}

export interface AuditEventsTable {
  seq: Generated<number>;
  id: string;
  replica_id: string;
  chain_seq: number;
  ts: string;
  app_id: string | null;
  event: string;
  outcome: string;
  record: string;
  prev_hash: string;
  hash: string;
  grant_id: string | null;
  managed_secret_id: string | null;
  key_prefix: string | null;
  /** The acting agent (migration 0005); null for app keys and older rows. */
  agent_id: string | null;
  /** The end user (migration 0006); null when no user is involved and for older rows. */
  app_user_id: string | null;
}

export interface IdempotencyKeysTable {
  app_id: string;
  key: string;
  request_hash: string;
  status_code: number;
  response: string;
  created_at: string;
}

/** A per-app custom provider template; `template` is the validated template as JSON text. */
export interface ProviderTemplatesTable {
  app_id: string;
  id: string;
  kind: string;
  template: string;
  created_at: string;
}

/**
 * An agent (migration 0005). Status is derived: `revoked` if `revoked_at`, else `paused` if
 * `paused_at`, else `active`. `metadata` and `scopes` are JSON text.
 */
export interface AgentsTable {
  id: string;
  app_id: string;
  name: string;
  display_name: string | null;
  type: string;
  metadata: string;
  scopes: string;
  rate_limit_rpm: number | null;
  created_at: string;
  updated_at: string;
  paused_at: string | null;
  revoked_at: string | null;
}

/**
 * An app's identity provider (migration 0006). `id` (`idp_…`) changes when the issuer does;
 * `algorithms` is JSON text; `jwks_uri` comes from OIDC discovery.
 */
export interface IdentityProvidersTable {
  app_id: string;
  id: string;
  issuer: string;
  audience: string;
  algorithms: string;
  user_id_claim: string;
  email_claim: string | null;
  groups_claim: string | null;
  jwks_uri: string;
  created_at: string;
  updated_at: string;
}

/** An end user seen in a verified ID token (migration 0006); `groups` is JSON text. */
export interface AppUsersTable {
  id: string;
  app_id: string;
  idp_issuer: string;
  subject: string;
  email: string | null;
  groups: string;
  first_seen_at: string;
  last_seen_at: string;
}

/** "Agent X may use user U's grant G" (migration 0006); `created_by` is the consenting app user. */
export interface DelegationsTable {
  id: string;
  app_id: string;
  grant_id: string;
  agent_id: string;
  created_by: string;
  created_at: string;
  revoked_at: string | null;
}

/** The database schema. */
export interface Database {
  apps: AppsTable;
  app_keks: AppKeksTable;
  api_keys: ApiKeysTable;
  managed_secrets: ManagedSecretsTable;
  grants: GrantsTable;
  audit_events: AuditEventsTable;
  idempotency_keys: IdempotencyKeysTable;
  provider_templates: ProviderTemplatesTable;
  agents: AgentsTable;
  identity_providers: IdentityProvidersTable;
  app_users: AppUsersTable;
  delegations: DelegationsTable;
}

/** A database handle or a transaction: every repository function takes one first. */
export type Executor = Kysely<Database> | Transaction<Database>;
/** The database handle. */
export type Db = Kysely<Database>;
