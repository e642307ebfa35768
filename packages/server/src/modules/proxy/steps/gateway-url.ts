import { LatchkeyError } from '../../../errors.js';

const bad = (message: string) => new LatchkeyError('invalid_request', { message, details: { field: 'path' } });

/**
 * A segment that is, or that an upstream could decode into, a dot-segment: `.`/`..` written plainly
 * or as `%2e`, possibly hidden behind an encoded slash or backslash (`..%2f..`) or a matrix
 * parameter (`..;x`, which some Java servers strip).
 */
function isDotLike(segment: string): boolean {
  // Without a dot or a percent sign no spelling of a dot-segment is possible (the common case).
  if (!segment.includes('.') && !segment.includes('%')) return false;
  const decoded = segment.replace(/%2e/gi, '.').replace(/%2f/gi, '/').replace(/%5c/gi, '\\');
  return decoded.split(/[/\\]/).some((part) => /^\.{1,2}(;.*)?$/.test(part));
}

/**
 * Step 3 for the gateway door, before any I/O: checks the path a caller asked for under
 * `/gw/{grant_id}` (raw, still percent-encoded). Dot-segments in any spelling (`..`, `%2e%2e`,
 * `.%2E`, `..%2f`), backslashes, fragments and control characters are refused, so the path can
 * never climb out of the base URL's path.
 *
 * @param rawPath the request path after `/gw/{grant_id}` (`''` or starting with `/`), without the query.
 * @returns the same path, unchanged.
 * @throws LatchkeyError `invalid_request` (400) with `details.field` = `path`.
 * @example checkGatewayPath('/chat/completions') // '/chat/completions'
 */
export function checkGatewayPath(rawPath: string): string {
  if (rawPath.length > 8192) throw bad('The gateway path is too long.');
  // WHATWG URL parsing treats `\` as `/` in http(s) URLs; `#` would start a fragment.
  if (/[\\#\x00-\x20\x7f]/.test(rawPath)) throw bad('The gateway path contains a character that is not allowed.');
  if (rawPath.split('/').some(isDotLike)) throw bad('The gateway path must not contain "." or ".." segments.');
  return rawPath;
}

/** Origin and path prefix (no trailing slash) of base URLs, by their text; bounded, cleared when full. */
const bases = new Map<string, { origin: string; prefix: string }>();
const BASES_MAX = 10_000;

function parsedBase(baseUrl: string): { origin: string; prefix: string } {
  let b = bases.get(baseUrl);
  if (!b) {
    const url = new URL(baseUrl);
    b = { origin: url.origin, prefix: url.pathname.replace(/\/+$/, '') };
    if (bases.size >= BASES_MAX) bases.clear();
    bases.set(baseUrl, b);
  }
  return b;
}

/**
 * Joins a provider base URL and a gateway path with exactly one slash, keeping the base's own path
 * prefix (`https://api.openai.com/v1` + `/chat/completions` → `https://api.openai.com/v1/chat/completions`),
 * and appends the caller's query string as sent. An empty path targets the base URL itself.
 *
 * @param baseUrl absolute http(s) base URL (the secret's `base_url`, else its template's).
 * @param path a path accepted by {@link checkGatewayPath}.
 * @param search the raw query string, `''` or starting with `?`.
 * @throws LatchkeyError `invalid_request` if the result would leave the base URL's origin or path.
 * @example joinGatewayUrl('https://api.openai.com/v1', '/models', '?limit=2').href
 *   // 'https://api.openai.com/v1/models?limit=2'
 */
export function joinGatewayUrl(baseUrl: string, path: string, search: string): URL {
  const { origin, prefix } = parsedBase(baseUrl);
  const rest = path.replace(/^\/+/, '');
  const joined = path === '' ? prefix || '/' : `${prefix}/${rest}`;
  const text = `${origin}${joined}${search}`;
  const url = new URL(text);
  // The setter re-serializes the URL: only when there is a fragment (even an empty one) to drop.
  if (text.includes('#')) url.hash = '';
  // Defence in depth: checkGatewayPath already refused every way out.
  if (url.origin !== origin || (url.pathname !== prefix && !url.pathname.startsWith(`${prefix}/`))) {
    throw bad('The gateway path must stay under the provider base URL.');
  }
  return url;
}

/**
 * The gateway target of a call: the credential's base URL joined with the requested path and query.
 *
 * @param baseUrl the credential's base URL (its own `base_url`, else its template's), or null.
 * @param gateway the checked path and raw query from the gateway door.
 * @throws LatchkeyError `invalid_request` when the credential has no base URL.
 * @throws TypeError when called without `gateway` (a front door passed neither a URL nor a gateway path).
 */
export function gatewayTarget(baseUrl: string | null, gateway: { path: string; search: string } | undefined): URL {
  if (!gateway) throw new TypeError('a proxy call needs a url or a gateway path');
  if (!baseUrl) {
    throw new LatchkeyError('invalid_request', {
      message: "This grant's credential has no base URL: set base_url on the managed secret to use gateway mode.",
      details: { field: 'base_url' },
    });
  }
  return joinGatewayUrl(baseUrl, gateway.path, gateway.search);
}
