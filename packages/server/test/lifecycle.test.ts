/**
 * Graceful lifecycle (issue 3): SIGTERM lets in-flight calls finish (bounded by
 * LATCHKEY_SHUTDOWN_TIMEOUT_MS), commits their audit rows, refuses new connections, exits 0.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, expect, test } from 'vitest';
import { api } from './helpers/api.js';
import { startReplica } from './helpers/replica.js';
import { startUpstream, type Upstream } from './helpers/upstream.js';

let up: Upstream;
afterAll(async () => {
  await up?.close();
});

test('SIGTERM drains in-flight requests, then exits 0', async () => {
  up = await startUpstream((_req, res) => {
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('slow but done');
    }, 800);
  });
  const r = await startReplica({
    LATCHKEY_EGRESS_ALLOW_CIDRS: '127.0.0.0/8',
    LATCHKEY_EGRESS_ALLOW_HTTP_HOSTS: up.host,
    LATCHKEY_MASTER_KEY: randomBytes(32).toString('hex'),
    LATCHKEY_REPLICA_ID: 'drain',
  });
  const key = r.init!.app_key;
  const s = await api(r.url, key, 'POST', '/v1/managed-secrets', {
    slug: 'slow',
    type: 'bearer',
    value: 'drain-secret-0123456789',
    allowed_hosts: [`${up.host}:${up.port}`],
  });
  const g = await api(r.url, key, 'POST', `/v1/managed-secrets/${s.body.id}/grants`, { principal: { type: 'system' } });
  const inflight = Array.from({ length: 5 }, () =>
    fetch(`${r.url}/v1/forward`, {
      headers: {
        authorization: `Bearer ${key}`,
        'latchkey-target': `${up.url}/slow`,
        'latchkey-grant-id': g.body.grant_id,
      },
    }).then(async (res) => ({ status: res.status, body: await res.text() })),
  );
  await new Promise((res) => setTimeout(res, 300)); // the calls are waiting on the upstream
  const exit = r.stop();
  const results = await Promise.all(inflight);
  expect(results).toEqual(Array.from({ length: 5 }, () => ({ status: 200, body: 'slow but done' })));
  expect(await exit).toBe(0);
  expect(r.stderr()).toContain('SIGTERM: draining');
  await expect(fetch(`${r.url}/healthz`)).rejects.toThrow();
});
