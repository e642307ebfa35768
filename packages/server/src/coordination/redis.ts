import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { LatchkeyError } from '../errors.js';
import type { Invalidation, InvalidationBus } from './bus.js';
import type { NonceStore } from './nonce-store.js';

/** Redis connections of one replica: commands and a pub/sub subscriber. */
export interface RedisCoordination {
  readonly client: Redis;
  readonly nonces: NonceStore;
  readonly bus: InvalidationBus;
  /** True while both connections are ready. */
  healthy(): boolean;
  close(): Promise<void>;
}

const CHANNEL = 'invalidations';

/**
 * Connects to Redis for coordination (DESIGN §3). Commands never queue while disconnected
 * (`enableOfflineQueue: false`), so a Redis outage shows up at once: signature nonces fail closed
 * (`503 service_unavailable`), rate limits fall back to per-replica counters, caches to a short TTL.
 * After a reconnect every local cache is cleared, since invalidations may have been missed.
 *
 * @param url `redis://…`
 * @param prefix key and channel prefix, e.g. `latchkey:`.
 * @param onResync called after (re)subscribing: clear local caches.
 */
export function connectRedis(url: string, prefix: string, log: Logger, onResync: () => void): RedisCoordination {
  const opts = {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    retryStrategy: (times: number) => Math.min(times * 200, 2000),
    lazyConnect: false,
  };
  const client = new Redis(url, opts);
  const sub = new Redis(url, { ...opts, enableOfflineQueue: true, maxRetriesPerRequest: null });
  const channel = `${prefix}${CHANNEL}`;
  const handlers: ((inv: Invalidation) => void)[] = [];
  const deliver = (inv: Invalidation) => {
    for (const h of handlers) h(inv);
  };
  let wasDown = false;
  for (const [name, conn] of [
    ['client', client],
    ['subscriber', sub],
  ] as const) {
    conn.on('error', (err: Error & { code?: string }) => {
      if (!wasDown) log.warn({ connection: name, code: err.code }, 'redis unavailable: degraded mode');
      wasDown = true;
    });
  }
  sub.on('ready', () => {
    void sub.subscribe(channel).then(() => {
      if (wasDown) log.warn('redis reachable again: caches cleared and resubscribed');
      wasDown = false;
      onResync();
    });
  });
  sub.on('message', (_ch: string, message: string) => {
    try {
      const inv = JSON.parse(message) as Invalidation;
      if (typeof inv.id === 'string' && typeof inv.kind === 'string') deliver(inv);
    } catch {
      /* ignore malformed messages */
    }
  });

  const healthy = () => client.status === 'ready' && sub.status === 'ready';
  return {
    client,
    healthy,
    nonces: {
      async consume(keyId, nonce, ttlMs) {
        try {
          const r = await client.set(
            `${prefix}nonce:${keyId}:${nonce}`,
            '1',
            'PX',
            Math.max(1, Math.ceil(ttlMs)),
            'NX',
          );
          return r === 'OK';
        } catch (err) {
          // Fail closed: without the shared nonce store a signed request could be replayed elsewhere.
          throw new LatchkeyError('service_unavailable', {
            message: 'Signed requests are unavailable: the nonce store cannot be reached.',
            details: { reason: 'nonce_store_unavailable' },
            cause: err,
          });
        }
      },
      close() {
        /* connections are closed by close() */
      },
    },
    bus: {
      publish(kind, id) {
        deliver({ kind, id });
        client.publish(channel, JSON.stringify({ kind, id })).catch(() => {
          // The short cache TTL used while Redis is down bounds how stale other replicas can be.
        });
      },
      subscribe(handler) {
        handlers.push(handler);
      },
    },
    async close() {
      await Promise.allSettled([client.quit(), sub.quit()]);
      client.disconnect();
      sub.disconnect();
    },
  };
}
