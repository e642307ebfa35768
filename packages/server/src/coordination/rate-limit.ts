import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { LatchkeyError } from '../errors.js';

/** Consumes request budget; throws `429 rate_limited` with `Retry-After` and `RateLimit-*` headers. */
export interface RateLimiter {
  /**
   * Takes one point from `subject`'s budget of `perMinute` requests per 60 s window.
   * @throws LatchkeyError `rate_limited`.
   */
  consume(subject: string, perMinute: number): Promise<void>;
}

function limited(res: RateLimiterRes, perMinute: number): LatchkeyError {
  const retryAfter = Math.max(1, Math.ceil(res.msBeforeNext / 1000));
  return new LatchkeyError('rate_limited', {
    details: { limit: perMinute, window_seconds: 60, retry_after_seconds: retryAfter },
    headers: {
      'retry-after': String(retryAfter),
      'ratelimit-limit': String(perMinute),
      'ratelimit-remaining': '0',
      'ratelimit-reset': String(retryAfter),
    },
  });
}

/**
 * Creates the limiter (rate-limiter-flexible). With Redis, counters are shared by every replica; while
 * Redis is unreachable each replica falls back to its own in-memory counters (the insurance limiter).
 *
 * @param redis shared client (with `enableOfflineQueue: false`), or undefined for a single node.
 * @param keyPrefix Redis key prefix.
 */
export function createRateLimiter(redis: Redis | undefined, keyPrefix: string): RateLimiter {
  const limiters = new Map<number, RateLimiterMemory | RateLimiterRedis>();
  const limiterFor = (points: number) => {
    let l = limiters.get(points);
    if (!l) {
      const memory = new RateLimiterMemory({ points, duration: 60, keyPrefix: `${keyPrefix}rl:${points}` });
      l = redis
        ? new RateLimiterRedis({
            storeClient: redis,
            points,
            duration: 60,
            keyPrefix: `${keyPrefix}rl:${points}`,
            insuranceLimiter: memory,
          })
        : memory;
      limiters.set(points, l);
    }
    return l;
  };
  return {
    async consume(subject, perMinute) {
      try {
        await limiterFor(perMinute).consume(subject, 1);
      } catch (err) {
        if (err instanceof RateLimiterRes) throw limited(err, perMinute);
        throw err;
      }
    },
  };
}
