import { canonicalJson } from './audit.fns.js';
import type { AuditInput } from './audit.types.js';

/** Columns of `audit_events` written per row, in the order of {@link auditRow}'s array. */
export const ROW_COLUMNS = [
  'id',
  'replica_id',
  'chain_seq',
  'ts',
  'app_id',
  'event',
  'outcome',
  'record',
  'prev_hash',
  'hash',
  'grant_id',
  'managed_secret_id',
  'key_prefix',
  'agent_id',
  'app_user_id',
] as const;

/** One row in {@link ROW_COLUMNS} order. */
export type RowValues = [
  id: string,
  replicaId: string,
  chainSeq: number,
  ts: string,
  appId: string | null,
  event: string,
  outcome: string,
  record: string,
  prevHash: string,
  hash: string,
  grantId: string | null,
  managedSecretId: string | null,
  keyPrefix: string | null,
  agentId: string | null,
  appUserId: string | null,
];

/** JSON of a scalar member: strings quoted and escaped, absent → `null`. */
function j(v: string | number | boolean | null | undefined): string {
  return v === undefined || v === null ? 'null' : JSON.stringify(v);
}

/** A string map in canonical JSON (keys sorted as strings), or `null`. */
function map(m: Record<string, unknown> | null | undefined): string {
  return m ? canonicalJson(m) : 'null';
}

/** The id of a chain row: replica id and zero-padded chain sequence, so ids ascend with the chain. */
export function auditRowId(replicaId: string, chainSeq: number): string {
  return `${replicaId}-${String(chainSeq).padStart(12, '0')}`;
}

/**
 * The canonical JSON of one audit record (the `AuditRecord` shape: keys sorted at every depth, no
 * whitespace), written directly from the service's input without building the record object: this
 * is the text that is stored and hashed into the chain (DESIGN §9). `verify` recomputes it with
 * `canonicalJson(JSON.parse(text))`; a property test checks the two agree for arbitrary inputs.
 *
 * @param i the event as a service reported it.
 * @param replicaId this replica's chain id.
 * @param ts ISO-8601 timestamp of the event.
 * @param chainSeq position in the replica's chain (1-based).
 */
export function auditRecordJson(i: AuditInput, replicaId: string, ts: string, chainSeq: number): string {
  const a = i.actor;
  const t = i.trace;
  return (
    `{"actor":{"agent_id":${j(a?.agentId)},"caller":${j(a?.caller)},"key_prefix":${j(a?.keyPrefix)}}` +
    `,"app_id":${j(i.appId)},"app_user_id":${j(i.appUserId)},"chain_seq":${chainSeq}` +
    `,"context":${map(i.context)},"details":${map(i.details)},"error_code":${j(i.errorCode)}` +
    `,"event":${j(i.event)},"grant_id":${j(i.grantId)},"grant_kind":${j(i.grantKind)}` +
    `,"id":${j(auditRowId(replicaId, chainSeq))},"latency_ms":${j(i.latencyMs)}` +
    `,"managed_secret_id":${j(i.managedSecretId)},"method":${j(i.method)},"outcome":${j(i.outcome)}` +
    `,"principal_type":${j(i.principalType)},"provider_id":${j(i.providerId)},"reason":${j(i.reason)}` +
    `,"replica_id":${j(replicaId)},"status_code":${j(i.statusCode)}` +
    `,"trace":{"role":${j(t?.role)},"run_id":${j(t?.runId)},"thread_id":${j(t?.threadId)},"tool":${j(t?.tool)}}` +
    `,"ts":${j(ts)},"url":${j(i.url)}}`
  );
}

/**
 * One row of `audit_events` for a record at `chainSeq`: the indexed columns beside the hashed text.
 *
 * @param record the canonical JSON from {@link auditRecordJson}.
 * @param prevHash, hash the chain links (hex).
 */
export function auditRow(
  i: AuditInput,
  replicaId: string,
  ts: string,
  chainSeq: number,
  record: string,
  prevHash: string,
  hash: string,
): RowValues {
  return [
    auditRowId(replicaId, chainSeq),
    replicaId,
    chainSeq,
    ts,
    i.appId,
    i.event,
    i.outcome,
    record,
    prevHash,
    hash,
    i.grantId ?? null,
    i.managedSecretId ?? null,
    i.actor?.keyPrefix ?? null,
    i.actor?.agentId ?? null,
    i.appUserId ?? null,
  ];
}
