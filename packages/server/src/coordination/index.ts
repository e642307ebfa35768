import type { Logger } from 'pino';
import { createLocalBus, type InvalidationBus, type InvalidationKind } from './bus.js';
import { createCache, type Cache } from './cache.js';
import { createMemoryNonceStore, type NonceStore } from './nonce-store.js';
import { createRateLimiter, type RateLimiter } from './rate-limit.js';
import { connectRedis, type RedisCoordination } from './redis.js';

/** Cache lifetimes in milliseconds. */
export interface CacheTtls {
  /** While invalidations reach every replica (single node, or Redis healthy). */
  normalMs: number;
  /** While they may not (Redis configured but unreachable): bounds staleness. */
  degradedMs: number;
}

/** Cross-replica coordination: nonces, invalidations, rate limits, caches (DESIGN §3). */
export interface Coordinator {
  readonly nonces: NonceStore;
  readonly bus: InvalidationBus;
  readonly rateLimiter: RateLimiter;
  /** A cache whose entries the bus invalidates for `kind` (ids are the objects' ids). */
  cache<V>(kind: InvalidationKind, max: number): Cache<V>;
  /** `disabled` (single node), `ok`, or `degraded` (Redis unreachable). */
  redisStatus(): 'disabled' | 'ok' | 'degraded';
  close(): Promise<void>;
}

/**
 * Creates the coordinator: in-process for a single node, Redis-backed when `redisUrl` is set.
 *
 * @param opts `redisUrl?`, `prefix` for Redis keys, `ttls`, `log`.
 */
export function createCoordinator(opts: {
  redisUrl: string | undefined;
  prefix: string;
  ttls: CacheTtls;
  log: Logger;
}): Coordinator {
  const caches: Cache<unknown>[] = [];
  const clearAll = () => {
    for (const c of caches) c.clear();
  };
  let redis: RedisCoordination | undefined;
  let bus: InvalidationBus;
  let nonces: NonceStore;
  if (opts.redisUrl) {
    redis = connectRedis(opts.redisUrl, opts.prefix, opts.log, clearAll);
    bus = redis.bus;
    nonces = redis.nonces;
  } else {
    bus = createLocalBus();
    nonces = createMemoryNonceStore();
  }
  const ttl = () => (redis && !redis.healthy() ? opts.ttls.degradedMs : opts.ttls.normalMs);
  return {
    nonces,
    bus,
    rateLimiter: createRateLimiter(redis?.client, opts.prefix),
    cache<V>(kind: InvalidationKind, max: number) {
      const c = createCache<V>({ ttlMs: ttl, max });
      caches.push(c as Cache<unknown>);
      bus.subscribe((inv) => {
        if (inv.kind === kind) c.delete(inv.id);
      });
      return c;
    },
    redisStatus() {
      if (!redis) return 'disabled';
      return redis.healthy() ? 'ok' : 'degraded';
    },
    async close() {
      nonces.close();
      await redis?.close();
    },
  };
}

export type { Cache, InvalidationBus, NonceStore, RateLimiter };
