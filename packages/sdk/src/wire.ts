/**
 * Small helpers shared by the per-resource wire mappers. Every mapper converts fields one by one:
 * there is deliberately no generic snake↔camel converter, which would also rewrite user JSON, header
 * names, context keys and secret field names. Internal.
 */
import { BackendError } from './errors.js';

/** A page of a list endpoint. */
export interface Page {
  /** Number of matching items on the server. */
  readonly total: number;
  /** Page size used, 1–500. */
  readonly limit: number;
  /** Items skipped before this page. */
  readonly offset: number;
  /** Whether another page follows. */
  readonly hasMore: boolean;
}

/** Wire form of {@link Page}. */
export interface WirePage {
  total: number;
  limit: number;
  offset: number;
  has_more: boolean;
}

/** Maps the pagination fields of a list answer. */
export function toPage(w: WirePage): Page {
  return { total: w.total, limit: w.limit, offset: w.offset, hasMore: w.has_more };
}

/**
 * Parses a server timestamp.
 *
 * @throws {BackendError} `unexpected_response` when the server sent something that is not a date.
 */
export function toDate(v: string): Date {
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) {
    throw new BackendError('Latchkey answered with an invalid timestamp.', { code: 'unexpected_response' });
  }
  return d;
}

/** {@link toDate}, passing `null` through. */
export function toDateOrNull(v: string | null): Date | null {
  return v === null ? null : toDate(v);
}

/** Freezes a result object and every nested plain object and array (not `Date`s or byte arrays). */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    if (Array.isArray(value) || Object.getPrototypeOf(value) === Object.prototype) {
      Object.freeze(value);
      for (const v of Object.values(value)) deepFreeze(v);
    }
  }
  return value;
}

/** Encodes one path segment. */
export function seg(v: string): string {
  return encodeURIComponent(v);
}
