import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { boundHeapGrowth } from '../src/heap.js';
import { runTsChild } from './helpers/ts-child.js';

/**
 * A child that holds about 80 MB live and allocates objects that outlive a few scavenges before
 * they die (promoted garbage, as in-flight requests leave), printing the largest heap it saw: about
 * 510–540 MB with V8's largest growth factor, about 200 MB bounded, on Node 20 and 22.
 */
const CHURN = `
  import { getHeapStatistics, setFlagsFromString } from 'node:v8';
  import { boundHeapGrowth } from ${JSON.stringify(path.join(import.meta.dirname, '../src/heap.ts'))};
  // V8's adaptive factor depends on how fast this machine runs; pin it to its maximum (4 ×) so that
  // both runs start from the same state, then bound it.
  setFlagsFromString('--heap-growing-percent=300');
  if (process.argv[2] === 'bounded') boundHeapGrowth(50, []);
  const live = [];
  for (let i = 0; i < 400_000; i++) live.push({ a: 'x'.repeat(40) + i, b: [i, i + 1, i + 2] });
  const ring = new Array(20_000);
  let peak = 0;
  for (let i = 0; i < 2_500_000; i++) {
    ring[i % ring.length] = { s: 'y'.repeat(30) + i, n: [i] };
    if (i % 50_000 === 0) peak = Math.max(peak, getHeapStatistics().used_heap_size);
  }
  console.log(JSON.stringify({ peakMb: peak / 1e6, live: live.length }));
`;

describe('boundHeapGrowth', () => {
  test('keeps promoted garbage near the live heap', { timeout: 120_000 }, async () => {
    const peak = async (mode: string) => {
      // Collections only when the old generation reaches its limit: no concurrent or incremental
      // marking and no time-based memory reducer, so what the limit allows is what the peak shows.
      // The young generation is pinned small (1 MB semi-spaces), so every ring object, which lives
      // for the next 20,000 allocations (about 2.6 MB), is promoted. Left to itself V8 grows the
      // young generation up to 16 MB or more; once it held the whole ring nothing was promoted and
      // both runs peaked near 140 MB (seen in a full run on Node 22).
      const nodeFlags = [
        '--single-threaded-gc',
        '--no-incremental-marking',
        '--no-memory-reducer',
        '--max-semi-space-size=1',
      ];
      const stdout = await runTsChild(CHURN, { args: [mode], nodeFlags, timeoutMs: 100_000 });
      return (JSON.parse(stdout.trim().split('\n').at(-1)!) as { peakMb: number }).peakMb;
    };
    const bounded = await peak('bounded');
    const unbounded = await peak('unbounded');
    // About 80 MB live plus up to 50 % and the young generation; a 4 × factor lets it grow far more.
    const seen = `peak MB: bounded ${bounded.toFixed(0)}, unbounded ${unbounded.toFixed(0)}`;
    expect(bounded, seen).toBeLessThan(320);
    expect(unbounded, seen).toBeGreaterThan(400);
  });

  test('leaves a --heap-growing-percent given on the command line alone', () => {
    expect(boundHeapGrowth(50, ['--heap-growing-percent=80'])).toBe(false);
    expect(boundHeapGrowth(50, ['--heap_growing_percent', '80'])).toBe(false);
  });
});
