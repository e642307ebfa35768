import { afterEach, describe, expect, test } from 'vitest';
import { createMemoryNonceStore, type MemoryNonceStore } from './nonce-store.js';

let store: MemoryNonceStore | undefined;
afterEach(() => store?.close());

/** A store on a clock the test moves (Unix ms). */
function onClock(startMs: number): { store: MemoryNonceStore; clock: { t: number } } {
  const clock = { t: startMs };
  store = createMemoryNonceStore({ now: () => clock.t, sweepMs: 3_600_000 });
  return { store, clock };
}

describe('createMemoryNonceStore', () => {
  test('a nonce is accepted once while remembered, per key id, and again once it has expired', async () => {
    const { store: s, clock } = onClock(1_700_000_000_250);
    expect(await s.consume('key_a', 'n1', 60_000)).toBe(true);
    expect(await s.consume('key_a', 'n1', 60_000)).toBe(false);
    expect(await s.consume('key_b', 'n1', 60_000)).toBe(true);
    expect(await s.consume('key_a', 'n1x', 60_000)).toBe(true);
    // Refused replays add nothing to hold.
    for (let i = 0; i < 100; i++) expect(await s.consume('key_a', 'n1', 60_000)).toBe(false);
    expect(s.size).toBe(3);
    clock.t += 59_999;
    expect(await s.consume('key_a', 'n1', 60_000)).toBe(false);
    clock.t += 1;
    expect(await s.consume('key_a', 'n1', 60_000)).toBe(true);
  });

  test('a sweep drops the expired nonces and keeps the live ones, whatever order they came in', async () => {
    const { store: s, clock } = onClock(1_700_000_000_000);
    await s.consume('k', 'long', 300_000);
    for (let i = 0; i < 1_000; i++) await s.consume('k', `short${i}`, 1_000 + (i % 5) * 1_000);
    await s.consume('k', 'mid', 30_000);
    expect(s.size).toBe(1_002);
    clock.t += 5_999;
    s.sweep();
    // The nonces of the last second still in its lifetime stay until that second has passed.
    expect(s.size).toBe(202);
    clock.t += 1;
    s.sweep();
    expect(s.size).toBe(2);
    expect(await s.consume('k', 'short7', 60_000)).toBe(true);
    expect(await s.consume('k', 'mid', 60_000)).toBe(false);
    clock.t += 30_000;
    s.sweep();
    expect(s.size).toBe(2); // long, and short7 again
    expect(await s.consume('k', 'mid', 60_000)).toBe(true);
    expect(await s.consume('k', 'long', 60_000)).toBe(false);
  });

  test('a nonce consumed again after it expired is not dropped by the sweep of its first expiry', async () => {
    const { store: s, clock } = onClock(1_700_000_000_000);
    await s.consume('k', 'n', 1_000);
    clock.t += 1_500; // expired, not yet swept
    expect(await s.consume('k', 'n', 60_000)).toBe(true);
    clock.t += 1_000;
    s.sweep(); // the first expiry's second has passed
    expect(s.size).toBe(1);
    expect(await s.consume('k', 'n', 60_000)).toBe(false);
  });

  test('the timer sweeps on its own', async () => {
    store = createMemoryNonceStore({ sweepMs: 20 });
    await store.consume('k', 'n', 1);
    expect(store.size).toBe(1);
    await expect.poll(() => store!.size, { timeout: 5_000, interval: 20 }).toBe(0);
  });
});
