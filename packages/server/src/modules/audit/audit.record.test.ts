import fc from 'fast-check';
import { expect, test } from 'vitest';
import { canonicalJson, chainHash, GENESIS_HASH } from './audit.fns.js';
import { auditRecordJson, auditRow, auditRowId, ROW_COLUMNS } from './audit.record.js';
import type { AuditInput, AuditRecord } from './audit.types.js';

/** The record as `verify` sees it: every field of `AuditRecord`, built the slow, obvious way. */
function referenceRecord(i: AuditInput, replicaId: string, ts: string, seq: number): AuditRecord {
  return {
    id: auditRowId(replicaId, seq),
    ts,
    replica_id: replicaId,
    chain_seq: seq,
    app_id: i.appId,
    event: i.event,
    outcome: i.outcome,
    actor: {
      key_prefix: i.actor?.keyPrefix ?? null,
      caller: i.actor?.caller ?? null,
      agent_id: i.actor?.agentId ?? null,
    },
    principal_type: i.principalType ?? null,
    app_user_id: i.appUserId ?? null,
    grant_id: i.grantId ?? null,
    grant_kind: i.grantKind ?? null,
    managed_secret_id: i.managedSecretId ?? null,
    provider_id: i.providerId ?? null,
    method: i.method ?? null,
    url: i.url ?? null,
    status_code: i.statusCode ?? null,
    latency_ms: i.latencyMs ?? null,
    error_code: i.errorCode ?? null,
    reason: i.reason ?? null,
    context: i.context ?? null,
    trace: {
      run_id: i.trace?.runId ?? null,
      thread_id: i.trace?.threadId ?? null,
      tool: i.trace?.tool ?? null,
      role: i.trace?.role ?? null,
    },
    details: i.details ?? null,
  };
}

const str = fc.option(fc.string({ unit: 'binary', maxLength: 40 }), { nil: null });
const optStr = fc.option(str, { nil: undefined });
const key = fc.oneof(fc.string({ maxLength: 8 }), fc.nat(200).map(String), fc.constantFrom('__proto__', 'constructor'));
const input: fc.Arbitrary<AuditInput> = fc.record(
  {
    event: fc.constantFrom('proxy.request.completed', 'grant.issued', 'key.revoked') as fc.Arbitrary<
      AuditInput['event']
    >,
    appId: str,
    outcome: fc.constantFrom('success', 'denied', 'error') as fc.Arbitrary<AuditInput['outcome']>,
    actor: fc.option(fc.record({ keyPrefix: str, caller: optStr, agentId: optStr }, { requiredKeys: ['keyPrefix'] }), {
      nil: undefined,
    }),
    principalType: optStr,
    appUserId: optStr,
    grantId: optStr,
    grantKind: optStr,
    managedSecretId: optStr,
    providerId: optStr,
    method: optStr,
    url: optStr,
    statusCode: fc.option(fc.option(fc.integer({ min: 100, max: 599 }), { nil: null }), { nil: undefined }),
    latencyMs: fc.option(fc.option(fc.nat(), { nil: null }), { nil: undefined }),
    errorCode: optStr,
    reason: optStr,
    context: fc.option(fc.option(fc.dictionary(key, fc.string({ unit: 'binary', maxLength: 20 })), { nil: null }), {
      nil: undefined,
    }),
    trace: fc.option(fc.record({ runId: optStr, threadId: optStr, tool: optStr, role: optStr }), { nil: undefined }),
    details: fc.option(
      fc.dictionary(key, fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.boolean(), fc.constant(null))),
      { nil: undefined },
    ),
  },
  { requiredKeys: ['event', 'appId', 'outcome'] },
);

test('the directly written record JSON is the canonical JSON of the record verify parses (any input)', () => {
  fc.assert(
    fc.property(
      input,
      fc.string({ minLength: 1, maxLength: 20 }),
      fc.integer({ min: 1, max: 2 ** 40 }),
      (i, rep, seq) => {
        const ts = '2026-11-21T09:00:00.000Z';
        const text = auditRecordJson(i, rep, ts, seq);
        expect(text).toBe(canonicalJson(referenceRecord(i, rep, ts, seq)));
        // What verify does: parse, re-canonicalize, compare.
        expect(canonicalJson(JSON.parse(text))).toBe(text);
      },
    ),
    { numRuns: 2000 },
  );
});

test('maps with integer-like keys are sorted as strings, unlike JSON.stringify', () => {
  const text = auditRecordJson(
    { event: 'proxy.request.denied', appId: null, outcome: 'denied', context: { '10': 'a', '9': 'b', x: 'c' } },
    'rep',
    't',
    1,
  );
  expect(text).toContain('"context":{"10":"a","9":"b","x":"c"}');
});

test('rows carry the indexed columns in ROW_COLUMNS order and a chain-ordered id', () => {
  const i: AuditInput = {
    event: 'proxy.request.completed',
    appId: 'app_1',
    outcome: 'success',
    actor: { keyPrefix: 'lk_app_abcde', agentId: 'agt_1' },
    grantId: 'g',
    managedSecretId: 'ms_1',
    appUserId: 'usr_1',
  };
  const row = auditRow(i, 'rep', 't', 7, '{}', 'p', 'h');
  expect(Object.fromEntries(ROW_COLUMNS.map((c, k) => [c, row[k]]))).toEqual({
    id: 'rep-000000000007',
    replica_id: 'rep',
    chain_seq: 7,
    ts: 't',
    app_id: 'app_1',
    event: 'proxy.request.completed',
    outcome: 'success',
    record: '{}',
    prev_hash: 'p',
    hash: 'h',
    grant_id: 'g',
    managed_secret_id: 'ms_1',
    key_prefix: 'lk_app_abcde',
    agent_id: 'agt_1',
    app_user_id: 'usr_1',
  });
});

test('a known record keeps its bytes and hash (pinned from the event-loop implementation before records moved to audit.chain.mjs)', () => {
  const i: AuditInput = {
    event: 'proxy.request.completed',
    appId: 'app_1',
    outcome: 'success',
    actor: { keyPrefix: 'lk_agent_abc', caller: 'agent', agentId: 'agent-7' },
    principalType: 'user',
    appUserId: 'user-7',
    grantId: 'g-7',
    grantKind: 'user',
    managedSecretId: 's-7',
    providerId: 'github',
    method: 'POST',
    url: 'https://api.example.com/v1/x?q=[REDACTED]',
    statusCode: 201,
    latencyMs: 12,
    errorCode: undefined,
    reason: 'r\u00e9sum\u00e9 "quoted" \n',
    context: JSON.parse('{"__proto__":"p","10":"ten","b":"\\u2028"}') as Record<string, string>,
    trace: { runId: 'run-7', threadId: undefined, tool: 'search', role: null },
    details: { front_door: 'forward', count: 7, ok: true, none: null },
  };
  const text = auditRecordJson(i, 'r-vec', '2026-11-21T12:00:00.000Z', 7);
  expect(text).toBe(
    '{"actor":{"agent_id":"agent-7","caller":"agent","key_prefix":"lk_agent_abc"},"app_id":"app_1",' +
      '"app_user_id":"user-7","chain_seq":7,"context":{"10":"ten","__proto__":"p","b":"\u2028"},' +
      '"details":{"count":7,"front_door":"forward","none":null,"ok":true},"error_code":null,' +
      '"event":"proxy.request.completed","grant_id":"g-7","grant_kind":"user","id":"r-vec-000000000007",' +
      '"latency_ms":12,"managed_secret_id":"s-7","method":"POST","outcome":"success","principal_type":"user",' +
      '"provider_id":"github","reason":"r\u00e9sum\u00e9 \\"quoted\\" \\n","replica_id":"r-vec","status_code":201,' +
      '"trace":{"role":null,"run_id":"run-7","thread_id":null,"tool":"search"},"ts":"2026-11-21T12:00:00.000Z",' +
      '"url":"https://api.example.com/v1/x?q=[REDACTED]"}',
  );
  expect(chainHash(GENESIS_HASH, text)).toBe('ebf41d9c232cee6d07e7768e5728c9f3770576adbc1263ef9029f21b2baa7cc2');
});
