/**
 * `proxyRequest()`: the JSON-envelope front door, `POST /v1/proxy` (DESIGN §4). Internal;
 * `App.proxyRequest` delegates here.
 */
import { base64ToBytes, bytesToBase64, utf8, utf8Decode } from './encoding.js';
import { BackendError, LatchkeyValueError, ProviderAPIError } from './errors.js';
import { resolveSelector, type GrantSelector, type GrantSelectorOptions, type UserTokenGetter } from './selector.js';
import type { Transport } from './transport.js';
import {
  assertGrantId,
  assertOptionalString,
  assertQueryParams,
  assertStringRecord,
  assertTimeout,
  isObject,
  normalizeMethod,
  type QueryParams,
} from './validate.js';
import { deepFreeze } from './wire.js';

/** Methods `/v1/proxy` forwards. */
export const PROXY_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/** One of {@link PROXY_METHODS}. */
export type ProxyMethod = (typeof PROXY_METHODS)[number];

/**
 * Options of `App.proxyRequest()`. Name the grant with `grantId`, or with `provider` + the user's ID
 * token (`userToken`, else the client's `userTokenGetter`) and optionally `account`.
 */
export interface ProxyRequestOptions extends GrantSelectorOptions {
  /** HTTP method for the upstream call (case-insensitive). */
  readonly method: ProxyMethod | Lowercase<ProxyMethod>;
  /** Absolute upstream URL; may contain `{placeholders}` that the server fills from `pathParams`. */
  readonly url: string;
  /** Headers for the upstream; sent inside the JSON envelope, so any string value is allowed. */
  readonly headers?: Readonly<Record<string, string>>;
  /** A JSON body for the upstream. Exclusive with `body`. */
  readonly json?: unknown;
  /** A raw body (a string is sent as its UTF-8 bytes), carried as `body_b64`. Exclusive with `json`. */
  readonly body?: Uint8Array | string;
  /** Appended to the URL's query by the server; an array repeats the key. */
  readonly queryParams?: QueryParams;
  /** Values for `{placeholders}` in `url`; the server `encodeURIComponent`s each. */
  readonly pathParams?: Readonly<Record<string, string>>;
  /** Why the call is made; recorded in the audit trail (≤ 500 chars). */
  readonly reason?: string;
  /** String map recorded in the audit trail (≤ 20 entries, keys ≤ 64, values ≤ 256 chars). */
  readonly context?: Readonly<Record<string, string>>;
  /** Aborts the call. */
  readonly signal?: AbortSignal;
  /** Budget for the whole call, in ms; defaults to the client's `timeout`. */
  readonly timeout?: number;
  /** Throw {@link ProviderAPIError} when the upstream answered with status ≥ 400 (default `false`). */
  readonly throwOnProviderError?: boolean;
}

/** The upstream's answer, as relayed by `/v1/proxy`. Frozen. */
export interface ApprovalResult {
  /** Upstream HTTP status. */
  readonly statusCode: number;
  /** Upstream response headers (lowercase names), credential echoes redacted by the server. */
  readonly headers: Readonly<Record<string, string>>;
  /** Upstream body bytes, at most the server's cap (default 10 MiB). */
  readonly body: Uint8Array;
  /** Whether the server cut the body at its cap. */
  readonly bodyTruncated: boolean;
  /** The body decoded as UTF-8. */
  text(): string;
  /**
   * The body parsed as JSON.
   *
   * @throws {SyntaxError} When the body is not JSON (or was truncated).
   */
  json<T = unknown>(): T;
}

/** Wire body of `POST /v1/proxy`. */
export interface WireProxyRequest {
  method: ProxyMethod;
  url: string;
  grant_id?: string;
  provider?: string;
  user_token?: string;
  account?: string;
  headers?: Record<string, string>;
  query_params?: Record<string, string | string[]>;
  path_params?: Record<string, string>;
  json?: unknown;
  body_b64?: string;
  reason?: string;
  context?: Record<string, string>;
}

/** Wire answer of `POST /v1/proxy`. */
export interface WireProxyResult {
  status_code: number;
  headers: Record<string, string>;
  body_b64: string;
  body_truncated: boolean;
}

/**
 * Maps proxy options to the wire body. `selector` is the validated grant naming (see
 * `resolveSelector`); without it, `options.grantId` must be a grant id.
 *
 * @throws {LatchkeyValueError} On bad arguments.
 */
export function toWireProxyRequest(options: ProxyRequestOptions, selector?: GrantSelector): WireProxyRequest {
  if (!isObject(options)) throw new LatchkeyValueError('options must be an object.');
  const method = normalizeMethod(options.method, PROXY_METHODS) as ProxyMethod;
  if (selector === undefined) assertGrantId(options.grantId);
  const sel: GrantSelector = selector ?? { grantId: options.grantId! };
  if (typeof options.url !== 'string' || options.url.length === 0 || options.url.length > 8192) {
    throw new LatchkeyValueError('url must be a non-empty string of at most 8192 characters.');
  }
  assertStringRecord(options.headers, 'headers');
  assertStringRecord(options.pathParams, 'pathParams');
  assertQueryParams(options.queryParams);
  assertStringRecord(options.context, 'context');
  assertOptionalString(options.reason, 'reason', 500);
  if (options.json !== undefined && options.body !== undefined) {
    throw new LatchkeyValueError('Give json or body, not both.');
  }
  const wire: WireProxyRequest = { method, url: options.url };
  if ('grantId' in sel) wire.grant_id = sel.grantId;
  else {
    wire.provider = sel.provider;
    wire.user_token = sel.userToken;
    if (sel.account !== undefined) wire.account = sel.account;
  }
  if (options.headers !== undefined) wire.headers = { ...options.headers };
  if (options.queryParams !== undefined) {
    const q: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(options.queryParams)) q[k] = typeof v === 'string' ? v : [...v];
    wire.query_params = q;
  }
  if (options.pathParams !== undefined) wire.path_params = { ...options.pathParams };
  if (options.json !== undefined) wire.json = options.json;
  if (options.body !== undefined) {
    if (typeof options.body === 'string') wire.body_b64 = bytesToBase64(utf8(options.body));
    else if (options.body instanceof Uint8Array) wire.body_b64 = bytesToBase64(options.body);
    else throw new LatchkeyValueError('body must be a Uint8Array or a string.');
  }
  if (options.reason !== undefined) wire.reason = options.reason;
  if (options.context !== undefined) wire.context = { ...options.context };
  return wire;
}

/**
 * Maps the wire answer to a frozen {@link ApprovalResult}.
 *
 * @throws {BackendError} `unexpected_response` when `body_b64` is not base64.
 */
export function toApprovalResult(w: WireProxyResult): ApprovalResult {
  let body: Uint8Array;
  try {
    body = base64ToBytes(w.body_b64);
  } catch {
    throw new BackendError('Latchkey answered with a body that is not base64.', { code: 'unexpected_response' });
  }
  const result: ApprovalResult = {
    statusCode: w.status_code,
    headers: { ...w.headers },
    body,
    bodyTruncated: w.body_truncated,
    text: () => utf8Decode(body),
    json: <T>() => JSON.parse(utf8Decode(body)) as T,
  };
  return deepFreeze(result);
}

/**
 * Sends one call through `/v1/proxy`.
 *
 * @param userTokenGetter The client's `userTokenGetter`, asked when `provider` comes without `userToken`.
 * @throws {LatchkeyValueError} Before any I/O, on bad arguments.
 * @throws {BackendError} (subclass per code) when Latchkey refuses.
 * @throws {ProviderAPIError} When asked to and the upstream answered ≥ 400.
 * @throws {TimeoutError | NetworkError} When Latchkey does not answer in time or cannot be reached.
 */
export async function proxyRequest(
  transport: Transport,
  options: ProxyRequestOptions,
  userTokenGetter?: UserTokenGetter,
): Promise<ApprovalResult> {
  if (!isObject(options)) throw new LatchkeyValueError('options must be an object.');
  assertTimeout(options.timeout);
  const wire = toWireProxyRequest(options, await resolveSelector(options, userTokenGetter));
  const result = await transport.json(
    'POST',
    '/v1/proxy',
    { body: wire, signal: options.signal, timeout: options.timeout },
    toApprovalResult,
  );
  if (options.throwOnProviderError === true && result.statusCode >= 400) {
    throw new ProviderAPIError({
      statusCode: result.statusCode,
      responseHeaders: result.headers,
      responseBody: result.text().slice(0, 65_536),
    });
  }
  return result;
}
