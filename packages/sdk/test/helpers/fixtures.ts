/**
 * Wire answers for tests, each checked against the contract's zod schema so a schema change breaks
 * the fixture (and thus the mapping test) instead of passing silently.
 */
import * as api from '@latchkey/api';
import { GRANT_ID, TS } from './server.js';

export const wireKey = api.KeyMeta.parse({
  key_id: 'key_0123456789abcdef01234567',
  key_prefix: 'lk_app_01234',
  kind: 'app',
  name: 'worker',
  scopes: ['proxy:execute'],
  cidrs: ['10.0.0.0/8'],
  status: 'active',
  signed_only: true,
  rate_limit_rpm: 600,
  created_at: TS,
  expires_at: null,
  revoked_at: null,
});

export const wireSecret = api.SecretMeta.parse({
  id: 'ms_abcdefgh1234',
  slug: 'stripe',
  name: 'Stripe',
  description: null,
  type: 'custom',
  template_id: null,
  injection: { headers: [{ name: 'x-client-id', format: '{client_id}' }] },
  allowed_hosts: ['api.stripe.com'],
  base_url: null,
  fingerprint: '0123456789abcdef',
  last4: null,
  version: 1,
  created_at: TS,
  updated_at: TS,
  rotated_at: null,
});

export const wireGrant = api.Grant.parse({
  grant_id: GRANT_ID,
  grant_kind: 'managed_secret',
  managed_secret_id: 'ms_abcdefgh1234',
  provider_id: null,
  principal: {
    type: 'agent',
    label: 'bot',
    agent_id: 'agt_abcdefgh',
    app_user_id: null,
    external_group_id: null,
    idp_id: null,
  },
  label: 'billing',
  status: 'active',
  grant_policy: { expires_at: TS, max_ttl_seconds: 3600, default_ttl_seconds: null },
  created_at: TS,
  expires_at: TS,
  revoked_at: null,
  revoked_reason: null,
});

export const wireAuditEvent = api.AuditEvent.parse({
  seq: 7,
  id: 'evt_1',
  ts: TS,
  replica_id: 'r1',
  event: 'proxy.request.completed',
  outcome: 'success',
  actor: { key_prefix: 'lk_app_01234', caller: 'billing-svc', agent_id: null },
  principal_type: 'system',
  principal: { type: 'system', app_user_id: null },
  grant_id: GRANT_ID,
  grant_kind: 'managed_secret',
  managed_secret_id: 'ms_abcdefgh1234',
  provider_id: null,
  method: 'GET',
  url: 'https://api.stripe.com/v1/charges?limit=[REDACTED]',
  status_code: 200,
  latency_ms: 12.5,
  error_code: null,
  reason: 'show billing page',
  context: { Ticket_ID: 'T-1', 'user-id': 'u1' },
  trace: { run_id: 'run1', thread_id: null, tool: 'charges', role: null },
  details: { front_door: 'forward' },
  hash: 'ab'.repeat(32),
});
