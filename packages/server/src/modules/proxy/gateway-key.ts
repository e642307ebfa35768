/**
 * The request headers in which vendor SDKs send their API key, in the order the gateway reads them:
 * `Authorization` (any scheme: `Bearer`, `token`, `Basic` username or password, or a bare key),
 * `x-api-key` (Anthropic), `api-key` (Azure OpenAI), `x-goog-api-key` (Google). Every one of them
 * is removed before a gateway call goes upstream, so the provider sees only the injected credential.
 */
export const GATEWAY_KEY_HEADERS = ['authorization', 'x-api-key', 'api-key', 'x-goog-api-key'] as const;

/** A Latchkey API key as minted (`lk_app_…` or `lk_agent_…` + base62). */
const LATCHKEY_KEY = /^lk_(?:app|agent)_[0-9A-Za-z]{16,128}$/;
const AUTH_SCHEME = /^([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*)[ \t]+(\S+)[ \t]*$/;

function valuesOf(v: string | string[] | undefined): string[] {
  if (v === undefined) return [];
  // Repeated non-authorization headers arrive joined with ", ".
  return (Array.isArray(v) ? v : [v]).flatMap((x) => x.split(','));
}

function candidatesOf(header: string, value: string): string[] {
  const v = value.trim();
  if (header !== 'authorization') return [v];
  const m = AUTH_SCHEME.exec(v);
  if (!m) return [v];
  const [, scheme, credentials] = m as unknown as [string, string, string];
  if (scheme.toLowerCase() !== 'basic') return [credentials];
  const decoded = Buffer.from(credentials, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? [decoded] : [decoded.slice(0, colon), decoded.slice(colon + 1)];
}

/**
 * Finds the caller's Latchkey key where an unmodified vendor SDK put it (gateway mode, DESIGN §4):
 * the first value in {@link GATEWAY_KEY_HEADERS} that looks like an `lk_app_…` / `lk_agent_…` key.
 * Other values (a real provider key, a malformed header) are ignored, never authenticated.
 *
 * @param headers incoming headers with lowercase names.
 * @returns the key, or undefined when none of those headers carries one.
 * @example extractGatewayKey({ 'x-api-key': 'lk_app_3kTMd0…' }) // 'lk_app_3kTMd0…'
 * @example extractGatewayKey({ authorization: 'Basic ' + btoa('lk_app_3kTMd0…:') }) // 'lk_app_3kTMd0…'
 */
export function extractGatewayKey(headers: Record<string, string | string[] | undefined>): string | undefined {
  for (const name of GATEWAY_KEY_HEADERS) {
    for (const value of valuesOf(headers[name])) {
      const key = candidatesOf(name, value).find((c) => LATCHKEY_KEY.test(c));
      if (key) return key;
    }
  }
  return undefined;
}
