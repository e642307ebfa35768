import { fillFormat } from '@latchkey/providers';
import type { SealedCredential } from '../../secrets/secrets.service.js';
import type { HeaderMap } from '../proxy.types.js';
import { signSigV4, type AwsSigV4Value, type SigV4Plan } from './sign-sigv4.js';

/** Caller-supplied headers that could carry or shadow credentials: always removed before injection. */
const CREDENTIAL_HEADERS = [
  'authorization',
  'cookie',
  'proxy-authorization',
  'x-api-key',
  'api-key',
  'x-amz-security-token',
  'x-amz-content-sha256',
  'x-amz-date',
];

/** Hop-by-hop headers (RFC 9110 §7.6.1) and headers that belong to Latchkey, never forwarded. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'expect',
  'signature',
  'signature-input',
]);

/** What `sanitizeHeaders` never forwards: hop-by-hop, signature and caller-supplied credential headers. */
const NOT_FORWARDED = new Set([...HOP_BY_HOP, ...CREDENTIAL_HEADERS]);

/**
 * Removes hop-by-hop headers (including those named in `Connection`), every `latchkey-*` header, and
 * caller-supplied credential headers (`authorization`, `cookie`, …: the injection step removes them
 * anyway; dropping them here spares it deleting keys, which turns the map into a slow dictionary).
 * `content-digest` is also removed when it belonged to Latchkey's own request signature.
 *
 * @param headers incoming headers with lowercase names.
 * @returns a new header map.
 */
export function sanitizeHeaders(
  headers: Record<string, string | string[] | undefined>,
  signedByLatchkey: boolean,
): HeaderMap {
  const out: HeaderMap = {};
  const connection = headers['connection'];
  // Headers named in `Connection` are hop-by-hop too. Most requests send only `keep-alive` or
  // `close`, which name no other header: no set is built for them.
  const named =
    connection === undefined || /^\s*(keep-alive|close)\s*$/i.test(Array.isArray(connection) ? '' : connection)
      ? undefined
      : new Set(
          (Array.isArray(connection) ? connection.join(',') : connection)
            .split(',')
            .map((s) => s.trim().toLowerCase())
            .filter(Boolean),
        );
  // Own keys only: a polluted prototype never becomes an upstream header.
  for (const name of Object.keys(headers)) {
    const value = headers[name];
    if (value === undefined) continue;
    const n = name.toLowerCase();
    if (n.startsWith('latchkey-') || NOT_FORWARDED.has(n) || named?.has(n)) continue;
    if (signedByLatchkey && n === 'content-digest') continue;
    out[n] = value;
  }
  return out;
}

/**
 * Step 8: injects the credential — last, so nothing later can overwrite it. Caller-supplied
 * credential headers and the secret's own header/query names are removed first.
 *
 * @param cred the sealed credential (settings).
 * @param valueJson the opened canonical JSON value (plaintext; do not keep a reference).
 * @param sigv4 `aws_sigv4` only: the plan from `planSigV4` (scope, payload hash, signing time).
 * @returns the strings a response must not echo (for redaction); a promise for `aws_sigv4`, whose
 *   signing is asynchronous.
 * @throws TypeError for an `aws_sigv4` credential without `sigv4`.
 */
export function injectCredential(
  cred: SealedCredential,
  valueJson: string,
  headers: HeaderMap,
  url: URL,
  sigv4?: SigV4Plan,
): string[] | Promise<string[]> {
  for (const h of CREDENTIAL_HEADERS) dropHeader(headers, h);
  const inj = cred.injection;
  if (inj.header) dropHeader(headers, inj.header.toLowerCase());
  for (const h of inj.headers ?? []) dropHeader(headers, h.name.toLowerCase());
  for (const q of inj.query ?? []) url.searchParams.delete(q.name);

  const value = JSON.parse(valueJson) as string | Record<string, string>;
  switch (cred.type) {
    case 'bearer': {
      const token = value as string;
      headers['authorization'] = `Bearer ${token}`;
      return [token];
    }
    case 'api_key': {
      const token = value as string;
      headers[inj.header!.toLowerCase()] = fillFormat(inj.format ?? '{token}', { token });
      return [token];
    }
    case 'basic': {
      const { username, password } = value as { username: string; password: string };
      const blob = Buffer.from(`${username}:${password}`, 'utf8').toString('base64');
      headers['authorization'] = `Basic ${blob}`;
      return [blob, password, username].filter((s) => s.length >= 4);
    }
    case 'custom': {
      const fields = value as Record<string, string>;
      for (const h of inj.headers ?? []) headers[h.name.toLowerCase()] = fillFormat(h.format, fields);
      for (const q of inj.query ?? []) url.searchParams.set(q.name, fillFormat(q.format, fields));
      return Object.values(fields).filter((s) => s.length >= 4);
    }
    case 'aws_sigv4': {
      if (!sigv4) throw new TypeError('an aws_sigv4 credential is injected with a plan from planSigV4()');
      return signSigV4(value as unknown as AwsSigV4Value, sigv4, headers, url);
    }
  }
}

/** Deletes `name` only when present: deleting an absent key still costs a runtime call. */
function dropHeader(headers: HeaderMap, name: string): void {
  if (name in headers) delete headers[name];
}
