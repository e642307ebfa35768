import { describe, expect, test } from 'vitest';
import { createCache } from '../../coordination/cache.js';
import type { GrantRead } from '../../store/point-lookup.js';
import type { GrantsTable, ManagedSecretsTable } from '../../store/types.js';
import { createGrantsService, type ResolvedGrant } from './grants.service.js';

const grantRow = (appId: string): GrantsTable => ({
  id: 'g_1',
  app_id: appId,
  kind: 'managed_secret',
  managed_secret_id: 'ms_1',
  provider_id: null,
  principal_type: 'system',
  principal_label: 'svc',
  agent_id: null,
  label: null,
  policy_expires_at: null,
  max_ttl_seconds: 3600,
  default_ttl_seconds: null,
  created_at: 'now',
  expires_at: null,
  revoked_at: null,
  revoked_reason: null,
  app_user_id: null,
  external_group_id: null,
  idp_id: null,
});

const secretRow = { id: 'ms_1', app_id: 'app_1' } as ManagedSecretsTable;

/**
 * The grants service's `resolve` over a grant read that brings its secret (as on PostgreSQL), with a
 * real credential cache behind `primeSecret`. `duringRead` runs while the read is in flight.
 */
function setup(grantAppId: string, duringRead: (secrets: ReturnType<typeof createCache<string>>) => void = () => {}) {
  const secrets = createCache<string>({ ttlMs: () => 60_000, max: 100 });
  const service = createGrantsService({
    db: {} as never,
    audit: {} as never,
    secretLookup: async () => ({ template_id: null }),
    bus: { publish: () => {} },
    cache: createCache<{ g: ResolvedGrant | null }>({ ttlMs: () => 60_000, max: 100 }),
    findById: async (): Promise<GrantRead> => {
      await Promise.resolve();
      duringRead(secrets);
      return { grant: grantRow(grantAppId), secret: secretRow };
    },
    primeSecret: {
      mark: () => secrets.mark(),
      prime: async (row, mark) => {
        await secrets.getOrLoad(row.id, async () => `credential of ${row.id}`, mark);
      },
    },
  });
  return { service, secrets };
}

describe('grants.resolve priming the credential cache from a joined read', () => {
  test("primes the caller's own grant's secret", async () => {
    const { service, secrets } = setup('app_1');
    expect((await service.resolve('app_1', 'g_1'))?.id).toBe('g_1');
    expect(secrets.get('ms_1')).toBe('credential of ms_1');
  });

  test('a secret invalidated while the grant was being read is not primed (the mark precedes the read)', async () => {
    const { service, secrets } = setup('app_1', (s) => s.delete('ms_1'));
    expect((await service.resolve('app_1', 'g_1'))?.id).toBe('g_1');
    expect(secrets.get('ms_1')).toBeUndefined();
  });

  test("another app's grant is refused as missing and its secret is never primed", async () => {
    const { service, secrets } = setup('app_2');
    expect(await service.resolve('app_1', 'g_1')).toBeUndefined();
    expect(secrets.get('ms_1')).toBeUndefined();
  });
});
