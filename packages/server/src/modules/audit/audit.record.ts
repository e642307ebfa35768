import { recordFields, recordJson, rowOf } from './audit.chain.mjs';
import type { AuditInput } from './audit.types.js';

// The record's bytes live in `audit.chain.mjs`, plain JavaScript shared with the insert thread.
export { auditRowId, ROW_COLUMNS, type RowValues } from './audit.chain.mjs';

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
  return recordJson(recordFields(i, ts), replicaId, chainSeq);
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
) {
  return rowOf(recordFields(i, ts), replicaId, chainSeq, record, prevHash, hash);
}
