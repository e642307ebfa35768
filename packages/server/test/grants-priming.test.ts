import { describe, expect, test } from 'vitest';
import { createCache } from '../src/coordination/cache.js';
import { createGrantsService, type ResolvedGrant } from '../src/modules/grants/grants.service.js';
import type { GrantRead } from '../src/store/point-lookup.js';
import { grantRow, secretRow } from './helpers/rows.js';

const secret = secretRow({ id: 'ms_1' });

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
      return { grant: grantRow({ id: 'g_1', app_id: grantAppId, managed_secret_id: 'ms_1' }), secret };
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

describe('grants.resolve on a cache hit', () => {
  test('answers with the grant itself, not a promise (the hot path awaits nothing)', async () => {
    const { service } = setup('app_1');
    const miss = service.resolve('app_1', 'g_1');
    expect(miss).toBeInstanceOf(Promise);
    await miss;
    const hit = service.resolve('app_1', 'g_1');
    expect(hit).not.toBeInstanceOf(Promise);
    expect((hit as ResolvedGrant).id).toBe('g_1');
    // The tenant check still applies to a hit.
    expect(service.resolve('app_2', 'g_1')).toBeUndefined();
  });
});
