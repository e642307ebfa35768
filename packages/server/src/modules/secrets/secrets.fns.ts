import { parseFormat, validateHostPattern } from '@latchkey/providers';
import type { z } from 'zod';
import type { Injection, SecretValue } from '@latchkey/api';
import { LatchkeyError } from '../../errors.js';

/** Credential types a managed secret can hold. */
export type SecretType = 'bearer' | 'api_key' | 'basic' | 'custom';
type InjectionT = z.infer<typeof Injection>;
type Value = z.infer<typeof SecretValue>;

const bad = (message: string, field: string): LatchkeyError =>
  new LatchkeyError('invalid_request', { message, details: { field } });

/**
 * Checks that a value has the shape its type needs: a string for `bearer`/`api_key`,
 * `{username, password}` for `basic`, a map of named fields (or a string used as `{token}`) for `custom`.
 *
 * @returns the value as the canonical JSON string that is sealed.
 * @throws LatchkeyError `invalid_request` (never quoting the value).
 */
export function canonicalValue(type: SecretType, value: Value, injection: InjectionT): string {
  const noControl = (s: string) => !/[\u0000-\u001f\u007f]/.test(s);
  if (type === 'bearer' || type === 'api_key') {
    if (typeof value !== 'string') throw bad(`A ${type} value is a string.`, 'value');
    if (!noControl(value) || value.trim() !== value)
      throw bad('The value has control characters or surrounding whitespace.', 'value');
    return JSON.stringify(value);
  }
  if (type === 'basic') {
    // Exactly these two own fields: a map with extra fields also matches the custom-value schema.
    const keys = typeof value === 'object' && value !== null ? Object.keys(value).sort().join(',') : '';
    if (keys !== 'password,username') {
      throw bad('A basic value is {"username", "password"}.', 'value');
    }
    const v = value as { username: string; password: string };
    if (v.username.includes(':')) throw bad('A basic username cannot contain ":".', 'value.username');
    if (!noControl(v.username) || !noControl(v.password)) throw bad('The value has control characters.', 'value');
    return JSON.stringify({ username: v.username, password: v.password });
  }
  // custom: every placeholder used by the injection must exist in the value.
  const fields: Record<string, string> =
    typeof value === 'string' ? { token: value } : (value as Record<string, string>);
  for (const [k, v] of Object.entries(fields)) {
    if (typeof v !== 'string' || !noControl(v))
      throw bad(`Field "${k}" must be a string without control characters.`, `value.${k}`);
  }
  for (const t of [...(injection.headers ?? []), ...(injection.query ?? [])]) {
    const parsed = parseFormat(t.format);
    if (!parsed.ok) throw bad(`Format of "${t.name}" ${parsed.error}.`, 'injection');
    for (const p of parsed.placeholders) {
      if (!Object.hasOwn(fields, p)) throw bad(`The value has no field "${p}" used by "${t.name}".`, 'value');
    }
  }
  return JSON.stringify(fields);
}

/**
 * Validates and normalises the injection configuration for a type.
 *
 * @throws LatchkeyError `invalid_request`.
 */
export function normalizeInjection(type: SecretType, injection: InjectionT | undefined): InjectionT {
  const inj = injection ?? {};
  if (type === 'bearer' || type === 'basic') {
    if (Object.keys(inj).length > 0) throw bad(`A ${type} secret takes no injection settings.`, 'injection');
    return {};
  }
  if (type === 'api_key') {
    if (!inj.header) throw bad('An api_key secret needs injection.header.', 'injection.header');
    const format = inj.format ?? '{token}';
    const parsed = parseFormat(format);
    if (!parsed.ok) throw bad(`injection.format ${parsed.error}.`, 'injection.format');
    if (parsed.placeholders.length !== 1 || parsed.placeholders[0] !== 'token') {
      throw bad('injection.format must contain {token} exactly once.', 'injection.format');
    }
    if (inj.headers || inj.query)
      throw bad('An api_key secret injects one header; use type custom for more.', 'injection');
    return { header: inj.header, format };
  }
  const headers = inj.headers ?? [];
  const query = inj.query ?? [];
  if (headers.length + query.length === 0)
    throw bad('A custom secret needs injection.headers or injection.query.', 'injection');
  if (inj.header || inj.format) throw bad('A custom secret uses injection.headers / injection.query.', 'injection');
  const names = new Set<string>();
  for (const h of headers) {
    const n = h.name.toLowerCase();
    if (names.has(n)) throw bad(`Header "${h.name}" is listed twice.`, 'injection.headers');
    if (['host', 'content-length', 'transfer-encoding', 'connection'].includes(n))
      throw bad(`Header "${h.name}" cannot be injected.`, 'injection.headers');
    names.add(n);
  }
  return { ...(headers.length ? { headers } : {}), ...(query.length ? { query } : {}) };
}

/** Validates host patterns (`host`, `*.suffix`, optionally `:port`). @throws LatchkeyError */
export function normalizeAllowedHosts(hosts: readonly string[]): string[] {
  const out: string[] = [];
  for (const raw of hosts) {
    const h = raw.trim().toLowerCase();
    // `[v6]` and `[v6]:port` keep their brackets: the host matcher expects them.
    const m = h.startsWith('[') ? /^(\[[^\]]+\])(?::(\d{1,5}))?$/.exec(h) : /^(.*?)(?::(\d{1,5}))?$/.exec(h);
    const host = m?.[1] ?? '';
    const port = m?.[2];
    const err = validateHostPattern(host);
    if (err) throw bad(`allowed_hosts entry "${raw}" ${err}.`, 'allowed_hosts');
    if (port !== undefined && (Number(port) < 1 || Number(port) > 65535))
      throw bad(`allowed_hosts entry "${raw}" has a bad port.`, 'allowed_hosts');
    out.push(port ? `${host}:${port}` : host);
  }
  return [...new Set(out)];
}

/** The last 4 characters of a single-string value, when showing them is acceptable. */
export function last4Of(type: SecretType, value: Value, visible: boolean): string | null {
  if (!visible || typeof value !== 'string' || value.length < 16) return null;
  if (type !== 'bearer' && type !== 'api_key') return null;
  return value.slice(-4);
}
