import { createHash } from 'node:crypto';

/** An `Idempotency-Key` header value: 1–255 visible ASCII characters. */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/** How long a stored answer is replayed, in milliseconds (24 hours). */
export const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;

function stable(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => stable(v === undefined ? null : v)).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stable(v)}`).join(',')}}`;
}

/**
 * The fingerprint of a create request: SHA-256 (hex) over the method, the route and the validated
 * body as canonical JSON (keys sorted), so key order and defaulted fields do not matter but any other
 * difference does.
 *
 * @param method HTTP method, e.g. `POST`.
 * @param route the route pattern, e.g. `/v1/agents`.
 * @param body the body after schema validation.
 */
export function requestFingerprint(method: string, route: string, body: unknown): string {
  return createHash('sha256')
    .update(`${method} ${route}\n${stable(body)}`)
    .digest('hex');
}
