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
