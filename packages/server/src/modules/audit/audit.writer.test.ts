import { expect, test } from 'vitest';
import { canonicalJson } from './audit.fns.js';
import { sealRecord } from './audit.writer.js';

test('sealRecord builds the canonical JSON directly (sorted keys at every depth) and a chain-ordered id', () => {
  const r = sealRecord(
    {
      ts: '2026-01-01T00:00:00.000Z',
      replica_id: 'rep',
      app_id: 'app_1',
      event: 'proxy.request.completed',
      outcome: 'success',
      actor: { key_prefix: 'lk_app_abcde', caller: 'cli', agent_id: 'agt_1' },
      principal_type: 'user',
      app_user_id: 'usr_1',
      grant_id: 'g',
      grant_kind: 'managed_secret',
      managed_secret_id: 'ms_1',
      provider_id: 'github',
      method: 'GET',
      url: 'https://api.github.com/user',
      status_code: 200,
      latency_ms: 3,
      error_code: null,
      reason: 'why',
      context: { zeta: '1', alpha: '2' },
      trace: { run_id: 'r', thread_id: 't', tool: 'x', role: 'y' },
      details: { z: 1, a: true, front_door: 'forward' },
    },
    7,
  );
  expect(JSON.stringify(r)).toBe(canonicalJson(r));
  expect(r.id).toBe('rep-000000000007');
  expect(r.chain_seq).toBe(7);
  expect(Object.keys(r.context!)).toEqual(['alpha', 'zeta']);
});

test('maps with integer-like keys are still hashed canonically (JS enumerates them first)', () => {
  const base = sealRecord(
    {
      ts: 't',
      replica_id: 'rep',
      app_id: null,
      event: 'proxy.request.denied',
      outcome: 'denied',
      actor: { key_prefix: null, caller: null },
      principal_type: null,
      grant_id: null,
      grant_kind: null,
      managed_secret_id: null,
      provider_id: null,
      method: null,
      url: null,
      status_code: null,
      latency_ms: null,
      error_code: null,
      reason: null,
      context: { '10': 'a', '9': 'b', x: 'c' },
      trace: { run_id: null, thread_id: null, tool: null, role: null },
      details: null,
    },
    1,
  );
  // JSON.stringify would put "9" before "10"; the canonical form sorts keys as strings.
  expect(JSON.stringify(base.context)).toBe('{"9":"b","10":"a","x":"c"}');
  expect(canonicalJson(base.context)).toBe('{"10":"a","9":"b","x":"c"}');
});
