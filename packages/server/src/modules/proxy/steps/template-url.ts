import { LatchkeyError } from '../../../errors.js';

/**
 * Step 3: fills `{placeholders}` in `url` from `pathParams` (each value percent-encoded with
 * `encodeURIComponent`), appends `queryParams`, and parses the result with WHATWG `URL`.
 *
 * @param url absolute URL, possibly with `{name}` placeholders.
 * @throws LatchkeyError `invalid_request` for a missing/unused parameter, a relative or non-http(s) URL, or userinfo.
 */
export function templateUrl(
  url: string,
  pathParams: Record<string, string> | undefined,
  queryParams: Record<string, string | string[]> | undefined,
): URL {
  const bad = (message: string, details: Record<string, unknown> = {}) =>
    new LatchkeyError('invalid_request', { message, details });
  const used = new Set<string>();
  const filled = url.replace(/\{([A-Za-z_][A-Za-z0-9_]{0,63})\}/g, (_m, name: string) => {
    const v = pathParams?.[name];
    if (v === undefined) throw bad(`The URL needs path parameter "${name}".`, { path_param: name });
    used.add(name);
    return encodeURIComponent(v);
  });
  for (const name of Object.keys(pathParams ?? {})) {
    if (!used.has(name)) throw bad(`Path parameter "${name}" is not used in the URL.`, { path_param: name });
  }
  let parsed: URL;
  try {
    parsed = new URL(filled);
  } catch {
    throw bad('The target URL is not an absolute URL.', { field: 'url' });
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')
    throw bad('The target URL must be http or https.', { field: 'url' });
  if (parsed.username || parsed.password) throw bad('The target URL must not carry credentials.', { field: 'url' });
  parsed.hash = '';
  for (const [k, v] of Object.entries(queryParams ?? {})) {
    for (const item of Array.isArray(v) ? v : [v]) parsed.searchParams.append(k, item);
  }
  return parsed;
}

/**
 * Parses a `/v1/forward` target: an absolute http(s) URL without userinfo; the fragment is dropped.
 *
 * @throws LatchkeyError `invalid_request`.
 */
export function parseTarget(target: string | undefined): URL {
  if (!target)
    throw new LatchkeyError('invalid_request', {
      message: 'The latchkey-target header is required.',
      details: { header: 'latchkey-target' },
    });
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    throw new LatchkeyError('invalid_request', {
      message: 'latchkey-target is not an absolute URL.',
      details: { header: 'latchkey-target' },
    });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new LatchkeyError('invalid_request', {
      message: 'The target URL must be http or https.',
      details: { header: 'latchkey-target' },
    });
  if (url.username || url.password)
    throw new LatchkeyError('invalid_request', {
      message: 'The target URL must not carry credentials.',
      details: { header: 'latchkey-target' },
    });
  // The setter re-serializes the URL: only when there is a fragment (even an empty one) to drop.
  if (target.includes('#')) url.hash = '';
  return url;
}
