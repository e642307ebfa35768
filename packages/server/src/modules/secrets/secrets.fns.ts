import { createHostMatcher, parseFormat, validateHostPattern } from '@latchkey/providers';
import type { z } from 'zod';
import type { Injection, SecretValue } from '@latchkey/api';
import { LatchkeyError } from '../../errors.js';

/** Credential types a managed secret can hold. */
export type SecretType = 'bearer' | 'api_key' | 'basic' | 'custom' | 'aws_sigv4';
type InjectionT = z.infer<typeof Injection>;
type Value = z.infer<typeof SecretValue>;

const bad = (message: string, field: string): LatchkeyError =>
  new LatchkeyError('invalid_request', { message, details: { field } });

// AWS ids are 16–128 `[A-Z0-9]` (`AKIA…`, `ASIA…`); S3-compatible stores use shorter ones. No `/`,
// `,`, `=` or spaces: the id is written into the `Credential=` of the Authorization header.
const AWS_KEY_ID = /^[A-Za-z0-9._~+-]{3,128}$/;
const PRINTABLE = /^[\x21-\x7e]+$/;

/** `{access_key_id, secret_access_key, session_token?}`, exactly, as canonical JSON. */
function canonicalAwsValue(value: Value): string {
  const keys = typeof value === 'object' && value !== null ? Object.keys(value).sort().join(',') : '';
  if (keys !== 'access_key_id,secret_access_key' && keys !== 'access_key_id,secret_access_key,session_token') {
    throw bad('An aws_sigv4 value is {"access_key_id", "secret_access_key", "session_token"?}.', 'value');
  }
  const v = value as { access_key_id: string; secret_access_key: string; session_token?: string };
  if (!AWS_KEY_ID.test(v.access_key_id))
    throw bad('access_key_id is 3 to 128 letters, digits or . _ ~ + - (e.g. AKIA…).', 'value.access_key_id');
  if (v.secret_access_key.length > 512 || !PRINTABLE.test(v.secret_access_key))
    throw bad('secret_access_key is printable ASCII without spaces.', 'value.secret_access_key');
  if (v.session_token !== undefined && (v.session_token.length > 8192 || !PRINTABLE.test(v.session_token)))
    throw bad('session_token is printable ASCII without spaces.', 'value.session_token');
  const out: Record<string, string> = { access_key_id: v.access_key_id, secret_access_key: v.secret_access_key };
  if (v.session_token !== undefined) out.session_token = v.session_token;
  return JSON.stringify(out);
}

/**
 * Checks that a value has the shape its type needs: a string for `bearer`/`api_key`,
 * `{username, password}` for `basic`, `{access_key_id, secret_access_key, session_token?}` for
 * `aws_sigv4`, a map of named fields (or a string used as `{token}`) for `custom`.
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
  if (type === 'aws_sigv4') return canonicalAwsValue(value);
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
  if (type === 'aws_sigv4') {
    const extra = Object.keys(inj).filter((k) => k !== 'region' && k !== 'service');
    if (extra.length > 0)
      throw bad('An aws_sigv4 secret takes only injection.region and injection.service.', 'injection');
    return { ...(inj.region ? { region: inj.region } : {}), ...(inj.service ? { service: inj.service } : {}) };
  }
  if (inj.region !== undefined || inj.service !== undefined)
    throw bad('injection.region and injection.service are for aws_sigv4 secrets.', 'injection');
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

/**
 * The last 4 characters of a single-string value, when showing them is acceptable. For `aws_sigv4`,
 * the last 4 of the access key id (an identifier AWS itself shows), never of the secret key.
 */
export function last4Of(type: SecretType, value: Value, visible: boolean): string | null {
  if (type === 'aws_sigv4') {
    const id =
      typeof value === 'object' && value !== null ? (value as { access_key_id?: unknown }).access_key_id : null;
    return visible && typeof id === 'string' && id.length >= 16 ? id.slice(-4) : null;
  }
  if (!visible || typeof value !== 'string' || value.length < 16) return null;
  if (type !== 'bearer' && type !== 'api_key') return null;
  return value.slice(-4);
}

/**
 * Validates a secret's gateway `base_url` (DESIGN §4, gateway mode): an absolute http(s) URL without
 * credentials, query or fragment, whose host and port pass the secret's own egress binding (an
 * `allowed_hosts` entry without a port allows only the scheme's default port).
 *
 * @param raw the URL as given; trailing slashes are dropped (`https://api.example.com/v1/` → `…/v1`).
 * @param allowedHosts the secret's normalized `allowed_hosts`.
 * @returns the normalized base URL.
 * @throws LatchkeyError `invalid_request` with `details.field` = `base_url`.
 * @example normalizeBaseUrl('https://api.openai.com/v1/', ['api.openai.com']) // 'https://api.openai.com/v1'
 */
export function normalizeBaseUrl(raw: string, allowedHosts: readonly string[]): string {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw bad('base_url is not an absolute URL.', 'base_url');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw bad('base_url must be http or https.', 'base_url');
  if (url.username || url.password) throw bad('base_url must not contain credentials.', 'base_url');
  if (url.search || url.hash || /[?#]/.test(raw))
    throw bad('base_url must not have a query or a fragment.', 'base_url');
  const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  const defaultPort = url.protocol === 'https:' ? 443 : 80;
  const allowed = allowedHosts.some((entry) => {
    const m = entry.startsWith('[')
      ? /^(\[[^\]]+\])(?::(\d{1,5}))?$/.exec(entry)
      : /^(.*?)(?::(\d{1,5}))?$/.exec(entry);
    if (!m || !createHostMatcher([m[1]!])(url.hostname)) return false;
    return (m[2] ? Number(m[2]) : defaultPort) === port;
  });
  if (!allowed) throw bad(`base_url host "${url.host}" is not in allowed_hosts.`, 'base_url');
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}
