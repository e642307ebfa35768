import type { AppsTable, GrantsTable, ManagedSecretsTable } from '../../src/store/types.js';

/** An `apps` row for tests that write the tables directly (`app_1` unless overridden). */
export function appRow(overrides: Partial<AppsTable> = {}): AppsTable {
  return { id: 'app_1', name: 'a', kek_version: 1, fingerprint_key_wrapped: 'x', created_at: 'now', ...overrides };
}

/** A `managed_secrets` row of `app_1` (a live bearer secret with placeholder sealed values unless overridden). */
export function secretRow(overrides: Partial<ManagedSecretsTable> & { id: string }): ManagedSecretsTable {
  return {
    app_id: 'app_1',
    slug: overrides.id,
    name: null,
    description: null,
    type: 'bearer',
    template_id: null,
    injection: '{}',
    allowed_hosts: '[]',
    base_url: null,
    value_sealed: 'sealed',
    dek_wrapped: 'wrapped',
    fingerprint: 'f',
    last4: null,
    version: 1,
    created_at: 'now',
    updated_at: 'now',
    rotated_at: null,
    deleted_at: null,
    ...overrides,
  };
}

/** A live `grants` row of `app_1` for the `system` principal unless overridden. */
export function grantRow(overrides: Partial<GrantsTable> & { id: string }): GrantsTable {
  return {
    app_id: 'app_1',
    kind: 'managed_secret',
    managed_secret_id: null,
    provider_id: null,
    principal_type: 'system',
    principal_label: 'svc',
    agent_id: null,
    label: null,
    policy_expires_at: null,
    max_ttl_seconds: 3600,
    default_ttl_seconds: null,
    created_at: 'now',
    expires_at: null,
    revoked_at: null,
    revoked_reason: null,
    app_user_id: null,
    external_group_id: null,
    idp_id: null,
    ...overrides,
  };
}
