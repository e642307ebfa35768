// The audit chain's bytes (DESIGN §9): the canonical JSON of a record, its chain hash and the row
// stored for it. Plain JavaScript, shared as-is by the event loop (through `audit.record.ts` and
// `audit.fns.ts`) and by the insert thread (`audit.worker.mjs`, which runs outside any TypeScript
// loader), so both build byte-identical records. Types: `audit.chain.d.mts`.
import { hash } from 'node:crypto';

/** prev_hash of the first row of every chain. */
export const GENESIS_HASH = '0'.repeat(64);
const DOMAIN = 'latchkey-audit-v1';

/** Columns of `audit_events` written per row, in the order of the arrays {@link chainRows} returns. */
export const ROW_COLUMNS = Object.freeze([
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
]);

/**
 * Canonical JSON: object keys sorted at every depth, no whitespace, `undefined` members dropped.
 * Used for the hash chain, so the same record always hashes the same on every replica.
 */
export function canonicalJson(value) {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  const entries = Object.entries(value)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** hash = SHA-256("latchkey-audit-v1" | prev_hash | canonical JSON of the record), hex (DESIGN §9). */
export function chainHash(prevHash, canonicalRecord) {
  // One-shot `crypto.hash` (Node ≥ 20.12): no Hash object per row.
  return hash('sha256', `${DOMAIN}|${prevHash}|${canonicalRecord}`, 'hex');
}

/** The id of a chain row: replica id and zero-padded chain sequence, so ids ascend with the chain. */
export function auditRowId(replicaId, chainSeq) {
  return `${replicaId}-${String(chainSeq).padStart(12, '0')}`;
}

const v = (x) => (x === undefined ? null : x);

/**
 * The fields of one record as a flat array (what crosses to the insert thread: a structured clone
 * of one short array per row, instead of the event's nested object). Absent members become null.
 * Order: agent id, caller, key prefix, app id, app user id, context, details, error code, event,
 * grant id, grant kind, latency, managed secret id, method, outcome, principal type, provider id,
 * reason, status code, trace role, run id, thread id, tool, ts, url.
 */
export function recordFields(i, ts) {
  const a = i.actor;
  const t = i.trace;
  return [
    v(a?.agentId),
    v(a?.caller),
    v(a?.keyPrefix),
    v(i.appId),
    v(i.appUserId),
    v(i.context),
    v(i.details),
    v(i.errorCode),
    v(i.event),
    v(i.grantId),
    v(i.grantKind),
    v(i.latencyMs),
    v(i.managedSecretId),
    v(i.method),
    v(i.outcome),
    v(i.principalType),
    v(i.providerId),
    v(i.reason),
    v(i.statusCode),
    v(t?.role),
    v(t?.runId),
    v(t?.threadId),
    v(t?.tool),
    v(ts),
    v(i.url),
  ];
}

/** JSON of a scalar member: strings quoted and escaped, null → `null`. */
function j(x) {
  return x === null ? 'null' : JSON.stringify(x);
}

/** A string map in canonical JSON (keys sorted as strings), or `null`. */
function map(m) {
  return m ? canonicalJson(m) : 'null';
}

/**
 * The canonical JSON of one record (the `AuditRecord` shape: keys sorted at every depth, no
 * whitespace), written directly from {@link recordFields}: the text that is stored and hashed.
 * `verify` recomputes it with `canonicalJson(JSON.parse(text))`; a property test checks they agree.
 */
export function recordJson(f, replicaId, chainSeq) {
  return (
    `{"actor":{"agent_id":${j(f[0])},"caller":${j(f[1])},"key_prefix":${j(f[2])}}` +
    `,"app_id":${j(f[3])},"app_user_id":${j(f[4])},"chain_seq":${chainSeq}` +
    `,"context":${map(f[5])},"details":${map(f[6])},"error_code":${j(f[7])}` +
    `,"event":${j(f[8])},"grant_id":${j(f[9])},"grant_kind":${j(f[10])}` +
    `,"id":${j(auditRowId(replicaId, chainSeq))},"latency_ms":${j(f[11])}` +
    `,"managed_secret_id":${j(f[12])},"method":${j(f[13])},"outcome":${j(f[14])}` +
    `,"principal_type":${j(f[15])},"provider_id":${j(f[16])},"reason":${j(f[17])}` +
    `,"replica_id":${j(replicaId)},"status_code":${j(f[18])}` +
    `,"trace":{"role":${j(f[19])},"run_id":${j(f[20])},"thread_id":${j(f[21])},"tool":${j(f[22])}}` +
    `,"ts":${j(f[23])},"url":${j(f[24])}}`
  );
}

/** One row in {@link ROW_COLUMNS} order: the indexed columns beside the hashed text. */
export function rowOf(f, replicaId, chainSeq, record, prevHash, hashHex) {
  return [
    auditRowId(replicaId, chainSeq),
    replicaId,
    chainSeq,
    f[23],
    f[3],
    f[8],
    f[14],
    record,
    prevHash,
    hashHex,
    f[9],
    f[12],
    f[2],
    f[0],
    f[4],
  ];
}

/**
 * Extends a chain by one batch: each record gets the next sequence number, its canonical JSON and
 * its hash over the previous one.
 *
 * @param fields one {@link recordFields} array per record, in chain order.
 * @param replicaId the chain's replica id.
 * @param headSeq, headHash the chain's last committed row (0 and {@link GENESIS_HASH} for a new chain).
 * @returns the rows (arrays in {@link ROW_COLUMNS} order) and the new head.
 */
export function chainRows(fields, replicaId, headSeq, headHash) {
  const rows = new Array(fields.length);
  let seq = headSeq;
  let prev = headHash;
  for (let k = 0; k < fields.length; k++) {
    const f = fields[k];
    seq += 1;
    const record = recordJson(f, replicaId, seq);
    const h = chainHash(prev, record);
    rows[k] = rowOf(f, replicaId, seq, record, prev, h);
    prev = h;
  }
  return { rows, seq, hash: prev };
}
