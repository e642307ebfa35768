import { fetch as undiciFetch, type Dispatcher } from 'undici';
import { isHttpAllowed } from './identity.fns.js';

/** A fetch to the identity provider failed before an answer could be read (logged; never shown). */
export class IdpFetchError extends Error {
  override readonly name = 'IdpFetchError';
  /** `scheme_not_allowed`, `egress_denied`, `too_large`, `timeout` or `unreachable`. */
  readonly code: string;
  constructor(code: string, cause?: unknown) {
    super(`identity provider fetch failed: ${code}`, cause === undefined ? undefined : { cause });
    this.code = code;
  }
}

/** A fetch restricted to the identity provider's documents (discovery and JWKS). */
export type IdpFetch = (
  url: string,
  init: { headers?: Headers | Record<string, string>; signal?: AbortSignal; method?: 'GET'; redirect?: 'manual' },
) => Promise<Response>;

/**
 * Creates the fetch used for OIDC discovery and JWKS retrieval. Every request goes through the egress
 * guard's dispatcher (so a private or loopback address is refused unless allow-listed in
 * `LATCHKEY_EGRESS_ALLOW_CIDRS`), plain http only to `httpHosts`, redirects are not followed, and the
 * body is read up to `maxBytes` and handed back as a WHATWG `Response` (what jose's `customFetch`
 * expects).
 *
 * @param opts `dispatcher` (the egress-guarded undici Agent), `httpHosts`, `maxBytes` (default 256 KiB),
 *   `timeoutMs` for a request without its own signal (default 5000).
 * @throws IdpFetchError from the returned function.
 */
export function createIdpFetch(opts: {
  dispatcher: Dispatcher;
  httpHosts: readonly string[];
  maxBytes?: number;
  timeoutMs?: number;
}): IdpFetch {
  const maxBytes = opts.maxBytes ?? 256 * 1024;
  const timeoutMs = opts.timeoutMs ?? 5_000;
  return async (url, init) => {
    const target = new URL(url);
    if (target.protocol !== 'https:' && !(target.protocol === 'http:' && isHttpAllowed(target, opts.httpHosts)))
      throw new IdpFetchError('scheme_not_allowed');
    const headers = new Headers(init.headers);
    headers.set('accept', headers.get('accept') ?? 'application/json');
    let res;
    try {
      res = await undiciFetch(target, {
        method: 'GET',
        headers: Object.fromEntries(headers),
        redirect: 'manual',
        signal: init.signal ?? AbortSignal.timeout(timeoutMs),
        dispatcher: opts.dispatcher,
      });
    } catch (err) {
      const cause = (err as { cause?: { name?: string } }).cause;
      if (cause?.name === 'EgressDeniedError') throw new IdpFetchError('egress_denied', err);
      if ((err as { name?: string }).name === 'TimeoutError') throw err; // jose maps it to JWKSTimeout
      throw new IdpFetchError('unreachable', err);
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    if (res.body) {
      for await (const chunk of res.body) {
        size += chunk.byteLength;
        // Throwing ends the iteration, which cancels the body.
        if (size > maxBytes) throw new IdpFetchError('too_large');
        chunks.push(chunk);
      }
    }
    return new Response(res.status === 204 || res.status === 304 ? null : Buffer.concat(chunks), {
      status: res.status,
      headers: { 'content-type': res.headers.get('content-type') ?? 'application/json' },
    });
  };
}
