// The hot path stamps every call with the time as ISO 8601 text (the grant's expiry check, the audit
// row's `ts`). V8's `Date#toISOString` formats through its C++ date cache on each call (≈ 7,500
// instructions under callgrind); the second-resolution prefix changes once a second, so it is kept.

let prefixSecond = Number.NaN;
/** `YYYY-MM-DDTHH:MM:SS.` of `prefixSecond` (the text before the milliseconds). */
let prefix = '';

/**
 * `new Date(ms).toISOString()`, with the text up to the seconds reused while the second is the same.
 *
 * @param ms milliseconds since the Unix epoch (an integer, as from `Date.now()`; negative is fine).
 * @returns the same string `Date#toISOString` gives (ISO 8601 / RFC 3339, UTC, `…T…:…:….mmmZ`).
 * @throws RangeError for a time `Date` cannot represent (as `toISOString` does).
 */
export function isoTime(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== prefixSecond || !Number.isInteger(ms)) {
    const full = new Date(ms).toISOString();
    if (!Number.isInteger(ms)) return full;
    prefixSecond = second;
    prefix = full.slice(0, -4);
  }
  const milli = ms - second * 1000;
  return `${prefix}${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`;
}

/** The current time as `Date#toISOString` text (see `isoTime`). */
export function isoNow(): string {
  return isoTime(Date.now());
}
