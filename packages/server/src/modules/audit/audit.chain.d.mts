// Types of `audit.chain.mjs` (plain JavaScript shared with the insert thread).
import type { AuditInput } from './audit.types.js';

/** prev_hash of the first row of every chain. */
export declare const GENESIS_HASH: string;

/** Columns of `audit_events` written per row, in the order of {@link RowValues}. */
export declare const ROW_COLUMNS: readonly string[];

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

type S = string | null;
type Details = Record<string, string | number | boolean | null> | null;

/** The fields of one record as a flat array (see `recordFields`); what crosses to the insert thread. */
export type RecordFields = [
  agentId: S,
  caller: S,
  keyPrefix: S,
  appId: S,
  appUserId: S,
  context: Record<string, string> | null,
  details: Details,
  errorCode: S,
  event: string,
  grantId: S,
  grantKind: S,
  latencyMs: number | null,
  managedSecretId: S,
  method: S,
  outcome: string,
  principalType: S,
  providerId: S,
  reason: S,
  statusCode: number | null,
  traceRole: S,
  traceRunId: S,
  traceThreadId: S,
  traceTool: S,
  ts: string,
  url: S,
];

/** Canonical JSON: object keys sorted at every depth, no whitespace, `undefined` members dropped. */
export declare function canonicalJson(value: unknown): string;

/** hash = SHA-256("latchkey-audit-v1" | prev_hash | canonical JSON of the record), hex (DESIGN §9). */
export declare function chainHash(prevHash: string, canonicalRecord: string): string;

/** The id of a chain row: replica id and zero-padded chain sequence. */
export declare function auditRowId(replicaId: string, chainSeq: number): string;

/** The fields of one record as a flat array; absent members become null. */
export declare function recordFields(i: AuditInput, ts: string): RecordFields;

/** The canonical JSON of one record, written directly from its fields. */
export declare function recordJson(f: RecordFields, replicaId: string, chainSeq: number): string;

/** One row in {@link ROW_COLUMNS} order. */
export declare function rowOf(
  f: RecordFields,
  replicaId: string,
  chainSeq: number,
  record: string,
  prevHash: string,
  hash: string,
): RowValues;

/**
 * Extends a chain by one batch (sequence numbers, canonical JSON, hashes).
 *
 * @param headSeq, headHash the chain's last committed row (0 and `GENESIS_HASH` for a new chain).
 */
export declare function chainRows(
  fields: readonly RecordFields[],
  replicaId: string,
  headSeq: number,
  headHash: string,
): { rows: RowValues[]; seq: number; hash: string };
