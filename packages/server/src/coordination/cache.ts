import { LRUCache } from 'lru-cache';
import type { MaybePromise } from '../maybe-promise.js';

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
   * (so a read that raced a revocation never re-populates the cache with the old state). A hit is
   * returned as the value itself, not a promise (no microtask on the hot path); a miss as a promise.
   * `load` must report failure by rejecting (an `async` function): a synchronous throw is not caught.
   *
   * @param since a {@link Cache.mark} taken before the read behind `load` began, when that read
   *   happened earlier (a row fetched along with another); invalidations since then keep it out.
   */
  getOrLoad(id: string, load: () => Promise<V>, since?: number): MaybePromise<V>;
  /** The current invalidation mark, to pass as `since` to {@link Cache.getOrLoad}. */
  mark(): number;
  delete(id: string): void;
  clear(): void;
  readonly size: number;
}

/** A cached value and when it was stored (epoch milliseconds). */
interface Entry<V> {
  readonly value: V;
  readonly at: number;
}

/**
 * Creates a bounded TTL cache. When `max` entries are reached the least recently used entry is
 * evicted. Storage is `lru-cache` (a linked list over arrays): evicting from a plain `Map` by its
 * first key walks past every slot deleted since the map was last rehashed, which cost about 7 µs per
 * miss at 10,000 entries when every proxied call named a different grant (issue 4, scale bench).
 *
 * @param opts `ttlMs` (milliseconds) read on every lookup, `max` entries (≥ 1).
 */
export function createCache<V>(opts: { ttlMs: () => number; max: number }): Cache<V> {
  const lru = new LRUCache<string, Entry<V>>({ max: opts.max });
  let generation = 0;
  const get = (id: string): V | undefined => {
    const hit = lru.get(id);
    if (!hit) return undefined;
    // The lifetime is read at use time: when Redis goes down, entries cached under the long TTL
    // become stale after the short one.
    if (Date.now() - hit.at >= opts.ttlMs()) {
      lru.delete(id);
      return undefined;
    }
    return hit.value;
  };
  const set = (id: string, value: V): void => {
    lru.set(id, { value, at: Date.now() });
  };
  return {
    get,
    set,
    getOrLoad(id, load, since) {
      const hit = get(id);
      if (hit !== undefined) return hit;
      const before = since ?? generation;
      return load().then((value) => {
        if (generation === before) set(id, value);
        return value;
      });
    },
    mark() {
      return generation;
    },
    delete(id) {
      generation += 1;
      lru.delete(id);
    },
    clear() {
      generation += 1;
      lru.clear();
    },
    get size() {
      return lru.size;
    },
  };
}
