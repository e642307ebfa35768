import type { AuditEventName } from '@latchkey/api';

/** What a service reports for one audit event; never header values, bodies or secrets. */
export interface AuditInput {
  event: AuditEventName;
  appId: string | null;
  outcome: 'success' | 'denied' | 'error';
  actor?: { keyPrefix: string | null; caller?: string | null; agentId?: string | null } | undefined;
  principalType?: string | null | undefined;
  /** The end user the event is about (a user grant's user, or the user of a verified user token). */
  appUserId?: string | null | undefined;
  grantId?: string | null | undefined;
  grantKind?: string | null | undefined;
  managedSecretId?: string | null | undefined;
  providerId?: string | null | undefined;
  method?: string | null | undefined;
  /** Already redacted (see `redactUrl`). */
  url?: string | null | undefined;
  statusCode?: number | null | undefined;
  latencyMs?: number | null | undefined;
  errorCode?: string | null | undefined;
  reason?: string | null | undefined;
  context?: Record<string, string> | null | undefined;
  trace?: { runId?: string | null; threadId?: string | null; tool?: string | null; role?: string | null } | undefined;
  /** Small non-secret facts about a change (ids, counts). */
  details?: Record<string, string | number | boolean | null> | undefined;
}

/** The record stored (as canonical JSON) and hashed. */
export interface AuditRecord {
  id: string;
  ts: string;
  replica_id: string;
  chain_seq: number;
  app_id: string | null;
  event: string;
  outcome: string;
  /** `agent_id` is absent from rows written before agents existed. */
  actor: { key_prefix: string | null; caller: string | null; agent_id?: string | null };
  principal_type: string | null;
  /** Absent from rows written before identity existed. */
  app_user_id?: string | null;
  grant_id: string | null;
  grant_kind: string | null;
  managed_secret_id: string | null;
  provider_id: string | null;
  method: string | null;
  url: string | null;
  status_code: number | null;
  latency_ms: number | null;
  error_code: string | null;
  reason: string | null;
  context: Record<string, string> | null;
  trace: { run_id: string | null; thread_id: string | null; tool: string | null; role: string | null };
  details: Record<string, string | number | boolean | null> | null;
}
