/** Remembers request-signature nonces until they expire, so a signed request runs at most once. */
export interface NonceStore {
  /**
   * Atomically records `nonce` for `ttlMs` milliseconds.
   * @returns true if it was new, false if it was already seen (a replay).
   */
  consume(keyId: string, nonce: string, ttlMs: number): Promise<boolean>;
  close(): void;
}

/** The single-node store, with what its tests and metrics read. */
export interface MemoryNonceStore extends NonceStore {
  /** Nonces held (expired ones count until the next sweep). */
  readonly size: number;
  /** Drops the nonces whose expiry second has passed (the timer calls it every `sweepMs`). */
  sweep(): void;
}

/**
 * A flat copy of `s`. A key built by concatenating slices of a request header is a V8 cons string
 * over sliced strings, which keeps the whole header alive as long as the key: measured at 684 bytes
 * per remembered nonce against 109 for a flat copy (a 400-byte `Signature-Input`). At the nonce
 * lifetime of a 60 s signature and 14,000 signed calls per second that is 580 MB against 93 MB.
 */
function flatCopy(s: string): string {
  return JSON.parse(JSON.stringify(s)) as string;
}

/**
 * Single-node nonce store in memory. A nonce is held until its signature could no longer be accepted,
 * plus a second: at most about 600 s (a `created` up to 300 s ahead, then a lifetime of up to 300 s),
 * 60 s for the SDK's default signatures. Each nonce is also listed under the second it expires; a sweep
 * every `sweepMs` checks each listed second (about 600 at most) and drops the nonces of the seconds
 * that have passed, so its work follows the number of nonces expiring, not the number held (a walk of
 * the whole map held up the event loop for tens of milliseconds at 900,000 nonces). A refused replay
 * adds nothing.
 *
 * @param opts `sweepMs` (milliseconds, default 1,000); `now` (Unix ms clock, for tests).
 */
export function createMemoryNonceStore(opts: { sweepMs?: number; now?: () => number } = {}): MemoryNonceStore {
  const now = opts.now ?? Date.now;
  /** Key → Unix ms until which the nonce is remembered. */
  const seen = new Map<string, number>();
  /** Expiry second (Unix s, rounded down) → keys remembered until then. */
  const bySecond = new Map<number, string[]>();
  const sweep = () => {
    const t = now();
    for (const [second, keys] of bySecond) {
      // Every key listed under `second` expires before the next second starts.
      if ((second + 1) * 1000 > t) continue;
      bySecond.delete(second);
      for (const k of keys) {
        // A key consumed again after it expired is listed again, under its later second.
        const until = seen.get(k);
        if (until !== undefined && until <= t) seen.delete(k);
      }
    }
  };
  const timer = setInterval(sweep, opts.sweepMs ?? 1000);
  timer.unref();
  return {
    async consume(keyId, nonce, ttlMs) {
      const k = flatCopy(`${keyId}\u0000${nonce}`);
      const t = now();
      const until = seen.get(k);
      if (until !== undefined && until > t) return false;
      const expires = t + ttlMs;
      seen.set(k, expires);
      const second = Math.floor(expires / 1000);
      const list = bySecond.get(second);
      if (list) list.push(k);
      else bySecond.set(second, [k]);
      return true;
    },
    sweep,
    get size() {
      return seen.size;
    },
    close() {
      clearInterval(timer);
    },
  };
}
