import { describe, expect, it } from 'vitest';
import { isoNow, isoTime } from './iso-time.js';

const reference = (ms: number) => new Date(ms).toISOString();

describe('isoTime', () => {
  it('matches Date#toISOString at second boundaries, padding and across the epoch', () => {
    const points = [
      0, 1, 9, 10, 99, 100, 999, 1000, 1001, -1, -999, -1000, -1001, 1_763_769_599_999, 1_763_769_600_000,
    ];
    for (const ms of points) expect(isoTime(ms)).toBe(reference(ms));
  });

  it('matches Date#toISOString for a walk that moves forwards, backwards and within one second', () => {
    let ms = 1_763_769_600_123;
    let seed = 7;
    for (let i = 0; i < 20_000; i++) {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      // Mostly small steps (the same second, the next one), sometimes a jump back or far ahead.
      const step = seed % 10 === 0 ? -((seed >> 4) % 5_000) : seed % 10 === 1 ? (seed >> 4) % 10_000_000 : seed % 700;
      ms += step;
      expect(isoTime(ms)).toBe(reference(ms));
    }
  });

  it('matches Date#toISOString for years outside 0000–9999 and at the limits of Date', () => {
    for (const ms of [
      -62_198_755_200_000, -62_198_755_200_001, 253_402_300_799_999, 253_402_300_800_000, 8.64e15, -8.64e15,
    ]) {
      expect(isoTime(ms)).toBe(reference(ms));
    }
  });

  it('truncates fractions of a millisecond as Date does, and throws RangeError where Date does', () => {
    expect(isoTime(1_000.75)).toBe(reference(1_000.75));
    expect(isoTime(-0.5)).toBe(reference(-0.5));
    expect(() => isoTime(Number.NaN)).toThrow(RangeError);
    expect(() => isoTime(8.64e15 + 1)).toThrow(RangeError);
    // A failed call leaves the cached second intact.
    expect(isoTime(1_000_123)).toBe(reference(1_000_123));
  });

  it('isoNow is the current time', () => {
    const before = Date.now();
    const t = Date.parse(isoNow());
    expect(t).toBeGreaterThanOrEqual(before);
    expect(t).toBeLessThanOrEqual(Date.now());
  });
});
