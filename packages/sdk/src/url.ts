/**
 * Target URL templating for `request()`, mirroring the server's step 3 (DESIGN §4.1): fill
 * `{placeholders}` from `pathParams` (each value `encodeURIComponent`-ed), then append `queryParams`.
 * Internal.
 */
import { LatchkeyValueError } from './errors.js';
import type { QueryParams } from './validate.js';

const PLACEHOLDER = /\{([^{}/?#]+)\}/g;

/**
 * Builds the absolute upstream URL.
 *
 * @param template Absolute `http(s)` URL, may contain `{name}` placeholders.
 * @param pathParams Placeholder values (raw; encoded here).
 * @param queryParams Appended after any query already in `template`; arrays repeat the key.
 * @returns The URL without fragment.
 * @throws {LatchkeyValueError} On a missing placeholder value or a URL that is not absolute http(s).
 */
export function buildTargetUrl(
  template: string,
  pathParams?: Readonly<Record<string, string>>,
  queryParams?: QueryParams,
): URL {
  if (typeof template !== 'string' || template.length === 0 || template.length > 8192) {
    throw new LatchkeyValueError('url must be a non-empty string of at most 8192 characters.');
  }
  const filled = template.replace(PLACEHOLDER, (_, name: string) => {
    const v = pathParams !== undefined && Object.hasOwn(pathParams, name) ? pathParams[name] : undefined;
    if (v === undefined) throw new LatchkeyValueError(`pathParams has no value for the placeholder {${name}} in url.`);
    return encodeURIComponent(v);
  });
  let url: URL;
  try {
    url = new URL(filled);
  } catch {
    throw new LatchkeyValueError('url must be an absolute http(s) URL.');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new LatchkeyValueError('url must be an absolute http(s) URL.');
  }
  url.hash = '';
  if (queryParams !== undefined) {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(queryParams)) {
      if (typeof v === 'string') qs.append(k, v);
      else for (const item of v) qs.append(k, item);
    }
    const extra = qs.toString();
    // Appending by hand keeps the template's own query bytes exactly as written.
    if (extra) url.search = url.search.length > 1 ? `${url.search}&${extra}` : `?${extra}`;
  }
  return url;
}
