/**
 * A per-replica cache for hot-path lookups (keys, grants, sealed credentials). Entries expire after
 * `ttlMs()` — long while cross-replica invalidation works, short when it does not — and are dropped
 * at once by `delete()` when an invalidation for their id arrives (DESIGN §3: revocations enforced by
 * every replica within 1 s).
 */
export interface Cache<V> {
  get(id: string): V | undefined;
  set(id: string, value: V): void;
  /**
   * The cached value, or `load()`'s result, cached only if no invalidation arrived while loading
   * (so a read that raced a revocation never re-populates the cache with the old state).
   */
  getOrLoad(id: string, load: () => Promise<V>): Promise<V>;
  delete(id: string): void;
  clear(): void;
  readonly size: number;
}

/**
 * Creates a bounded TTL cache. When `max` entries are reached the oldest inserted entry is evicted.
 *
 * @param opts `ttlMs` (milliseconds) read on every lookup, `max` entries.
 */
export function createCache<V>(opts: { ttlMs: () => number; max: number }): Cache<V> {
  const map = new Map<string, { value: V; at: number }>();
  let generation = 0;
  const get = (id: string): V | undefined => {
    const hit = map.get(id);
    if (!hit) return undefined;
    // The lifetime is read at use time: when Redis goes down, entries cached under the long TTL
    // become stale after the short one.
    if (Date.now() - hit.at >= opts.ttlMs()) {
      map.delete(id);
      return undefined;
    }
    return hit.value;
  };
  const set = (id: string, value: V): void => {
    if (map.size >= opts.max && !map.has(id)) {
      const oldest = map.keys().next();
      if (!oldest.done) map.delete(oldest.value);
    }
    map.set(id, { value, at: Date.now() });
  };
  return {
    get,
    set,
    async getOrLoad(id, load) {
      const hit = get(id);
      if (hit !== undefined) return hit;
      const before = generation;
      const value = await load();
      if (generation === before) set(id, value);
      return value;
    },
    delete(id) {
      generation += 1;
      map.delete(id);
    },
    clear() {
      generation += 1;
      map.clear();
    },
    get size() {
      return map.size;
    },
  };
}
