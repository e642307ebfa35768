import { describe, expect, test } from 'vitest';
import { createCache } from './cache.js';

describe('createCache', () => {
  test('evicts the least recently used entry beyond max, not the oldest inserted', () => {
    const c = createCache<number>({ ttlMs: () => 60_000, max: 3 });
    c.set('a', 1);
    c.set('b', 2);
    c.set('c', 3);
    expect(c.get('a')).toBe(1); // a is now the most recently used
    c.set('d', 4);
    expect(c.size).toBe(3);
    expect(c.get('b')).toBeUndefined();
    expect([c.get('a'), c.get('c'), c.get('d')]).toEqual([1, 3, 4]);
  });

  test('stays bounded and correct under a long stream of misses (the scale bench pattern)', () => {
    const c = createCache<number>({ ttlMs: () => 60_000, max: 1_000 });
    for (let i = 0; i < 50_000; i++) c.set(`k${i}`, i);
    expect(c.size).toBe(1_000);
    // Exactly the last 1,000 inserted survive.
    expect(c.get('k49000')).toBe(49_000);
    expect(c.get('k49999')).toBe(49_999);
    expect(c.get('k48999')).toBeUndefined();
    expect(c.get('k0')).toBeUndefined();
  });

  test('reads the lifetime at use time: entries cached under a long TTL expire under a shorter one', async () => {
    let ttl = 60_000;
    const c = createCache<string>({ ttlMs: () => ttl, max: 10 });
    c.set('k', 'v');
    expect(c.get('k')).toBe('v');
    await new Promise((r) => setTimeout(r, 5));
    ttl = 1;
    expect(c.get('k')).toBeUndefined();
    expect(c.size).toBe(0);
  });

  test('getOrLoad answers a hit with the value itself and a miss with a promise', async () => {
    const c = createCache<string>({ ttlMs: () => 60_000, max: 10 });
    const miss = c.getOrLoad('k', async () => 'loaded');
    expect(miss).toBeInstanceOf(Promise);
    expect(await miss).toBe('loaded');
    // The hot path reads a hit without a microtask.
    expect(c.getOrLoad('k', async () => 'again')).toBe('loaded');
  });

  test('getOrLoad loads once and caches; an invalidation during the load keeps the result out', async () => {
    const c = createCache<string>({ ttlMs: () => 60_000, max: 10 });
    let loads = 0;
    expect(await c.getOrLoad('g', async () => `v${++loads}`)).toBe('v1');
    expect(await c.getOrLoad('g', async () => `v${++loads}`)).toBe('v1');
    expect(loads).toBe(1);

    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const racing = c.getOrLoad('h', async () => {
      await gate;
      return 'stale';
    });
    c.delete('h'); // a revocation arrives while the read is in flight
    release();
    expect(await racing).toBe('stale');
    expect(c.get('h')).toBeUndefined();
    expect(await c.getOrLoad('h', async () => 'fresh')).toBe('fresh');
  });

  test('getOrLoad with an earlier mark keeps out a row read before an invalidation', async () => {
    const c = createCache<string>({ ttlMs: () => 60_000, max: 10 });
    const before = c.mark();
    // The row was read (along with another) here; then the secret is revoked…
    c.delete('s');
    expect(await c.getOrLoad('s', async () => 'read-before-revocation', before)).toBe('read-before-revocation');
    expect(c.get('s')).toBeUndefined();
    // …while a mark taken after the invalidation lets it in.
    expect(await c.getOrLoad('s', async () => 'fresh', c.mark())).toBe('fresh');
    expect(c.get('s')).toBe('fresh');
  });

  test('clear drops everything and also fences loads in flight', async () => {
    const c = createCache<number>({ ttlMs: () => 60_000, max: 10 });
    c.set('a', 1);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const racing = c.getOrLoad('b', async () => {
      await gate;
      return 2;
    });
    c.clear();
    release();
    await racing;
    expect(c.size).toBe(0);
  });
});
