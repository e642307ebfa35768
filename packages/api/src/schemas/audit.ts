import { z } from 'zod';
import { Timestamp } from './common.js';

/** Audit event names (DESIGN §9), `entity.past_tense`. */
export const AUDIT_EVENTS = [
  'proxy.request.allowed',
  'proxy.request.denied',
  'proxy.request.completed',
  'grant.issued',
  'grant.revoked',
  'secret.stored',
  'secret.rotated',
  'secret.updated',
  'secret.deleted',
  'key.minted',
  'key.deprecated',
  'key.undeprecated',
  'key.revoked',
  'agent.created',
  'agent.updated',
  'agent.paused',
  'agent.resumed',
  'agent.revoked',
  'app.created',
  'keyring.root_rotated',
  'provider.template.created',
  'provider.template.deleted',
  'identity.provider.configured',
  'app_user.created',
  'delegation.created',
  'delegation.revoked',
] as const;

/** One audit event name. */
export type AuditEventName = (typeof AUDIT_EVENTS)[number];

/** Outcome of an audited action. */
export const AuditOutcome = z.enum(['success', 'denied', 'error']);

/** An audit event as returned by `GET /v1/audit`: never header values, bodies or secrets. */
export const AuditEvent = z.object({
  seq: z.number().int(),
  id: z.string(),
  ts: Timestamp,
  replica_id: z.string(),
  event: z.string(),
  outcome: AuditOutcome,
  /** Who acted: the key's prefix, the SDK's `caller`, and the agent (own key or `latchkey-act-as`). */
  actor: z.object({
    key_prefix: z.string().nullable(),
    caller: z.string().nullable(),
    agent_id: z.string().nullable(),
  }),
  principal_type: z.string().nullable(),
  /** The grant's principal; `app_user_id` names the end user (a user grant, or the user of a user token). */
  principal: z.object({ type: z.string().nullable(), app_user_id: z.string().nullable() }),
  grant_id: z.string().nullable(),
  grant_kind: z.string().nullable(),
  managed_secret_id: z.string().nullable(),
  provider_id: z.string().nullable(),
  method: z.string().nullable(),
  url: z.string().nullable(),
  status_code: z.number().int().nullable(),
  latency_ms: z.number().nullable(),
  error_code: z.string().nullable(),
  reason: z.string().nullable(),
  context: z.record(z.string(), z.string()).nullable(),
  trace: z.object({
    run_id: z.string().nullable(),
    thread_id: z.string().nullable(),
    tool: z.string().nullable(),
    role: z.string().nullable(),
  }),
  /** Small non-secret facts (ids, counts; `front_door` — `forward`, `proxy`, `gateway`, `probe` — on proxy events). */
  details: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).nullable(),
  hash: z.string(),
});

/** Query of `GET /v1/audit`. `cursor` is the opaque `next_cursor` of the previous page. */
export const ListAuditQuery = z.object({
  event: z.string().max(64).optional(),
  grant_id: z.string().max(64).optional(),
  managed_secret_id: z.string().max(80).optional(),
  outcome: AuditOutcome.optional(),
  key_prefix: z.string().max(32).optional(),
  agent_id: z.string().max(80).optional(),
  app_user_id: z.string().max(80).optional(),
  since: Timestamp.optional(),
  until: Timestamp.optional(),
  cursor: z
    .string()
    .regex(/^[0-9]{1,19}$/, 'not a cursor')
    .optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

/** Response of `GET /v1/audit`. */
export const AuditList = z.object({
  events: z.array(AuditEvent),
  next_cursor: z.string().nullable(),
  has_more: z.boolean(),
});

/** Response of `GET /v1/audit/verify`: each replica's chain, and the first broken link if any. */
export const AuditVerifyResult = z.object({
  ok: z.boolean(),
  chains: z.array(z.object({ replica_id: z.string(), events: z.number().int(), head_hash: z.string().nullable() })),
  first_broken: z.object({ replica_id: z.string(), seq: z.number().int(), reason: z.string() }).nullable(),
});
