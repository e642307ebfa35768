/** Remembers request-signature nonces until they expire, so a signed request runs at most once. */
export interface NonceStore {
  /**
   * Atomically records `nonce` for `ttlMs` milliseconds.
   * @returns true if it was new, false if it was already seen (a replay).
   */
  consume(keyId: string, nonce: string, ttlMs: number): Promise<boolean>;
  close(): void;
}

/**
 * Single-node nonce store in memory. Expired nonces are swept every `sweepMs`; the store is bounded
 * by the signature lifetime (≤ 300 s), so it holds at most the nonces of the last five minutes.
 */
export function createMemoryNonceStore(sweepMs = 10_000): NonceStore {
  const seen = new Map<string, number>();
  const timer = setInterval(() => {
    const t = Date.now();
    for (const [k, until] of seen) if (until <= t) seen.delete(k);
  }, sweepMs);
  timer.unref();
  return {
    async consume(keyId, nonce, ttlMs) {
      const k = `${keyId}\u0000${nonce}`;
      const t = Date.now();
      const until = seen.get(k);
      if (until !== undefined && until > t) return false;
      seen.set(k, t + ttlMs);
      return true;
    },
    close() {
      clearInterval(timer);
    },
  };
}
