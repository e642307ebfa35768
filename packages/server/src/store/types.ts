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
}

/** A database handle or a transaction: every repository function takes one first. */
export type Executor = Kysely<Database> | Transaction<Database>;
/** The database handle. */
export type Db = Kysely<Database>;
