/**
 * Argument checks run before any I/O. They throw {@link LatchkeyValueError} naming the argument,
 * never quoting its value (it may be a secret or a header value). Internal.
 */
import { LatchkeyValueError } from './errors.js';

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Visible ASCII, space and tab: what every HTTP stack carries unchanged.
const HEADER_VALUE = /^[\t\x20-\x7e]*$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether `v` is a plain object (not null, not an array). */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Whether `v` is a plain object; unlike {@link isPlainObject}, does not narrow typed options. */
export function isObject(v: unknown): boolean {
  return isPlainObject(v);
}

/** Asserts `v` is a non-empty string of at most `max` characters. */
export function assertString(v: unknown, name: string, max = 1000): asserts v is string {
  if (typeof v !== 'string' || v.length === 0 || v.length > max) {
    throw new LatchkeyValueError(`${name} must be a non-empty string of at most ${max} characters.`);
  }
}

/** Asserts `v` is `undefined` or a string of at most `max` characters. */
export function assertOptionalString(v: unknown, name: string, max = 1000): asserts v is string | undefined {
  if (v !== undefined && (typeof v !== 'string' || v.length > max)) {
    throw new LatchkeyValueError(`${name} must be a string of at most ${max} characters.`);
  }
}

/** Asserts `v` is a grant id (a UUID). */
export function assertGrantId(v: unknown, name = 'grantId'): asserts v is string {
  if (typeof v !== 'string' || !UUID.test(v)) throw new LatchkeyValueError(`${name} must be a grant id (a UUID).`);
}

/** Asserts `v` is an HTTP method token and returns it uppercased (the form that is signed and sent). */
export function normalizeMethod(v: unknown, allowed?: readonly string[]): string {
  if (typeof v !== 'string' || !TOKEN.test(v)) throw new LatchkeyValueError('method must be an HTTP method.');
  const m = v.toUpperCase();
  if (allowed !== undefined && !allowed.includes(m)) {
    throw new LatchkeyValueError(`method must be one of ${allowed.join(', ')}.`);
  }
  return m;
}

/** Asserts `name` is a header field name (RFC 9110 token). */
export function assertHeaderName(name: string, argName: string): void {
  if (!TOKEN.test(name)) throw new LatchkeyValueError(`${argName} contains an invalid header name.`);
}

/** Asserts `value` can be sent as a header value unchanged: printable ASCII, no line breaks. */
export function assertHeaderValue(value: unknown, argName: string): asserts value is string {
  if (typeof value !== 'string' || !HEADER_VALUE.test(value) || value.length > 8192) {
    throw new LatchkeyValueError(`${argName} must be printable ASCII without line breaks (at most 8192 characters).`);
  }
}

/** Asserts `v` is `undefined` or a plain object whose values are all strings. */
export function assertStringRecord(v: unknown, name: string): asserts v is Record<string, string> | undefined {
  if (v === undefined) return;
  if (!isPlainObject(v) || !Object.values(v).every((x) => typeof x === 'string')) {
    throw new LatchkeyValueError(`${name} must be an object of string values.`);
  }
}

/** Asserts `v` is `undefined` or a plain object of strings or string arrays. */
export function assertQueryParams(v: unknown, name = 'queryParams'): asserts v is QueryParams | undefined {
  if (v === undefined) return;
  const ok =
    isPlainObject(v) &&
    Object.values(v).every((x) => typeof x === 'string' || (Array.isArray(x) && x.every((y) => typeof y === 'string')));
  if (!ok) throw new LatchkeyValueError(`${name} must be an object of strings or string arrays.`);
}

/** Asserts `v` is `undefined` or an integer in `[min, max]`. */
export function assertOptionalInt(v: unknown, name: string, min: number, max: number): asserts v is number | undefined {
  if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)) {
    throw new LatchkeyValueError(`${name} must be an integer from ${min} to ${max}.`);
  }
}

/** Asserts `v` is `undefined` or a positive, finite number of milliseconds. */
export function assertTimeout(v: unknown, name = 'timeout'): asserts v is number | undefined {
  if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > 2_147_483_647)) {
    throw new LatchkeyValueError(`${name} must be a positive number of milliseconds.`);
  }
}

/**
 * Converts a `Date` or ISO-8601 string to the wire form (`toISOString()`).
 *
 * @throws {LatchkeyValueError} On an invalid date or an unparseable string.
 */
export function toIsoTimestamp(v: Date | string, name: string): string {
  const d = typeof v === 'string' ? new Date(v) : v;
  if (!(d instanceof Date) || Number.isNaN(d.getTime())) {
    throw new LatchkeyValueError(`${name} must be a valid Date or ISO-8601 string.`);
  }
  return d.toISOString();
}

/** Query parameters: each value a string or a list of strings (repeated keys). */
export type QueryParams = Readonly<Record<string, string | readonly string[]>>;
