/**
 * The audit trail (DESIGN §9): list events with cursor pagination and verify the hash chains.
 */
import { LatchkeyValueError } from './errors.js';
import type { Transport } from './transport.js';
import { assertOptionalInt, assertOptionalString, isObject, toIsoTimestamp } from './validate.js';
import { deepFreeze, toDate } from './wire.js';

/** Outcome of an audited action. */
export type AuditOutcome = 'success' | 'denied' | 'error';

/** Filters of `app.audit.list()`. */
export interface ListAuditOptions {
  /** Event name, e.g. `proxy.request.completed`. */
  readonly event?: string;
  readonly grantId?: string;
  readonly managedSecretId?: string;
  readonly outcome?: AuditOutcome;
  /** First 12 characters of the acting key. */
  readonly keyPrefix?: string;
  /** The acting agent (its own key, or an app key acting as it), `agt_…`. */
  readonly agentId?: string;
  /** The end user the event is about, `usr_…`. */
  readonly appUserId?: string;
  /** Events at or after this time. */
  readonly since?: Date | string;
  /** Events before this time. */
  readonly until?: Date | string;
  /** `nextCursor` of the previous page. */
  readonly cursor?: string;
  /** Page size, 1–500 (default 100). */
  readonly limit?: number;
}

/** One audit event: never header values, bodies or secrets. Frozen. */
export interface AuditEvent {
  readonly seq: number;
  readonly id: string;
  readonly ts: Date;
  readonly replicaId: string;
  readonly event: string;
  readonly outcome: AuditOutcome;
  /** The key's prefix, the SDK's `caller`, and the agent (own key or `App.getAgent()`), if any. */
  readonly actor: {
    readonly keyPrefix: string | null;
    readonly caller: string | null;
    readonly agentId: string | null;
  };
  readonly principalType: string | null;
  /** The grant's principal; `appUserId` names the end user (a user grant, or the user of a user token). */
  readonly principal: { readonly type: string | null; readonly appUserId: string | null };
  readonly grantId: string | null;
  readonly grantKind: string | null;
  readonly managedSecretId: string | null;
  readonly providerId: string | null;
  readonly method: string | null;
  /** Upstream URL with query values redacted. */
  readonly url: string | null;
  readonly statusCode: number | null;
  readonly latencyMs: number | null;
  readonly errorCode: string | null;
  readonly reason: string | null;
  /** The caller's context map, keys exactly as sent. */
  readonly context: Readonly<Record<string, string>> | null;
  readonly trace: {
    readonly runId: string | null;
    readonly threadId: string | null;
    readonly tool: string | null;
    readonly role: string | null;
  };
  /**
   * Small non-secret facts about the event (ids, counts); proxy events carry `front_door`:
   * `forward`, `proxy` or `gateway`.
   */
  readonly details: Readonly<Record<string, string | number | boolean | null>> | null;
  /** This event's link in its replica's hash chain. */
  readonly hash: string;
}

/** A page of audit events. Frozen. */
export interface AuditList {
  readonly events: readonly AuditEvent[];
  /** Pass as `cursor` for the next page; `null` at the end. */
  readonly nextCursor: string | null;
  readonly hasMore: boolean;
}

/** Result of `app.audit.verify()`. Frozen. */
export interface AuditVerifyResult {
  /** Whether every chain verified. */
  readonly ok: boolean;
  readonly chains: readonly {
    readonly replicaId: string;
    readonly events: number;
    readonly headHash: string | null;
  }[];
  /** The first broken link, or `null`. */
  readonly firstBroken: { readonly replicaId: string; readonly seq: number; readonly reason: string } | null;
}

/** Wire form of an audit event. */
export interface WireAuditEvent {
  seq: number;
  id: string;
  ts: string;
  replica_id: string;
  event: string;
  outcome: AuditOutcome;
  actor: { key_prefix: string | null; caller: string | null; agent_id: string | null };
  principal_type: string | null;
  principal: { type: string | null; app_user_id: string | null };
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
  hash: string;
}

/** Wire answer of `GET /v1/audit`. */
export interface WireAuditList {
  events: WireAuditEvent[];
  next_cursor: string | null;
  has_more: boolean;
}

/** Wire answer of `GET /v1/audit/verify`. */
export interface WireAuditVerifyResult {
  ok: boolean;
  chains: { replica_id: string; events: number; head_hash: string | null }[];
  first_broken: { replica_id: string; seq: number; reason: string } | null;
}

/** Maps a wire event to a frozen {@link AuditEvent}. */
export function toAuditEvent(w: WireAuditEvent): AuditEvent {
  return deepFreeze({
    seq: w.seq,
    id: w.id,
    ts: toDate(w.ts),
    replicaId: w.replica_id,
    event: w.event,
    outcome: w.outcome,
    actor: { keyPrefix: w.actor.key_prefix, caller: w.actor.caller, agentId: w.actor.agent_id ?? null },
    principalType: w.principal_type,
    principal: { type: w.principal.type, appUserId: w.principal.app_user_id },
    grantId: w.grant_id,
    grantKind: w.grant_kind,
    managedSecretId: w.managed_secret_id,
    providerId: w.provider_id,
    method: w.method,
    url: w.url,
    statusCode: w.status_code,
    latencyMs: w.latency_ms,
    errorCode: w.error_code,
    reason: w.reason,
    context: w.context === null ? null : { ...w.context },
    trace: { runId: w.trace.run_id, threadId: w.trace.thread_id, tool: w.trace.tool, role: w.trace.role },
    details: w.details === null || w.details === undefined ? null : { ...w.details },
    hash: w.hash,
  });
}

/** `app.audit`: the audit trail. Needs `audit:read`. */
export class AuditClient {
  readonly #t: Transport;

  /** @internal Obtain through `app.audit`. */
  constructor(transport: Transport) {
    this.#t = transport;
  }

  /**
   * Lists audit events, newest first, with cursor pagination.
   *
   * @param options Filters `{ event?, grantId?, managedSecretId?, outcome?, keyPrefix?, agentId?, appUserId?, since?,
   *   until? }`
   *   (times as `Date` or ISO string), `cursor?`, `limit = 100` (1–500).
   * @returns A frozen page; pass `nextCursor` back as `cursor` while `hasMore`.
   * @throws {LatchkeyValueError} Bad arguments, before any I/O.
   * @throws {InsufficientScopeError} Without `audit:read`.
   * @example
   * let cursor: string | undefined
   * do {
   *   const page = await app.audit.list({ grantId, cursor })
   *   for (const e of page.events) console.log(e.ts, e.event, e.outcome)
   *   cursor = page.nextCursor ?? undefined
   * } while (cursor)
   */
  async list(options: ListAuditOptions = {}): Promise<AuditList> {
    if (!isObject(options)) throw new LatchkeyValueError('options must be an object.');
    assertOptionalString(options.event, 'event', 64);
    assertOptionalString(options.grantId, 'grantId', 64);
    assertOptionalString(options.managedSecretId, 'managedSecretId', 80);
    assertOptionalString(options.outcome, 'outcome', 20);
    assertOptionalString(options.keyPrefix, 'keyPrefix', 32);
    assertOptionalString(options.agentId, 'agentId', 80);
    assertOptionalString(options.appUserId, 'appUserId', 80);
    assertOptionalString(options.cursor, 'cursor', 19);
    assertOptionalInt(options.limit, 'limit', 1, 500);
    return this.#t.json(
      'GET',
      '/v1/audit',
      {
        query: {
          event: options.event,
          grant_id: options.grantId,
          managed_secret_id: options.managedSecretId,
          outcome: options.outcome,
          key_prefix: options.keyPrefix,
          agent_id: options.agentId,
          app_user_id: options.appUserId,
          since: options.since === undefined ? undefined : toIsoTimestamp(options.since, 'since'),
          until: options.until === undefined ? undefined : toIsoTimestamp(options.until, 'until'),
          cursor: options.cursor,
          limit: options.limit ?? 100,
        },
      },
      (w: WireAuditList) =>
        Object.freeze({
          events: Object.freeze(w.events.map(toAuditEvent)),
          nextCursor: w.next_cursor,
          hasMore: w.has_more,
        }),
    );
  }

  /**
   * Walks every replica's hash chain and reports the first broken link.
   *
   * @returns `{ ok, chains: [{ replicaId, events, headHash }], firstBroken }`, frozen.
   * @throws {InsufficientScopeError} Without `audit:read`.
   * @example
   * const { ok, firstBroken } = await app.audit.verify()
   * if (!ok) console.error('audit chain broken at', firstBroken)
   */
  async verify(): Promise<AuditVerifyResult> {
    return this.#t.json('GET', '/v1/audit/verify', {}, (w: WireAuditVerifyResult) =>
      deepFreeze({
        ok: w.ok,
        chains: w.chains.map((c) => ({ replicaId: c.replica_id, events: c.events, headHash: c.head_hash })),
        firstBroken:
          w.first_broken === null
            ? null
            : { replicaId: w.first_broken.replica_id, seq: w.first_broken.seq, reason: w.first_broken.reason },
      }),
    );
  }
}
