/**
 * `request()`: the streaming front door, `ANY /v1/forward` (DESIGN §4). Internal; `App.request`
 * delegates here.
 */
import type { FORWARD_HEADERS } from '@latchkey/api';
import { utf8, utf8Decode } from './encoding.js';
import { LatchkeyValueError, ProviderAPIError, errorFromResponse } from './errors.js';
import { resolveSelector, type GrantSelectorOptions, type UserTokenGetter } from './selector.js';
import type { Transport } from './transport.js';
import { buildTargetUrl } from './url.js';
import {
  assertHeaderName,
  assertHeaderValue,
  assertOptionalString,
  assertQueryParams,
  assertStringRecord,
  assertTimeout,
  isObject,
  normalizeMethod,
  type QueryParams,
} from './validate.js';

/**
 * A body for `request()`. Every form is read fully into memory before sending, because the request
 * signature covers a SHA-256 digest of the body (RFC 9530); a `ReadableStream` is drained first.
 */
export type RequestBody = string | Uint8Array | ArrayBuffer | ArrayBufferView | Blob | ReadableStream<Uint8Array>;

/**
 * Options of `App.request()`. Name the grant with `grantId`, or with `provider` + the user's ID token
 * (`userToken`, else the client's `userTokenGetter`) and optionally `account`.
 */
export interface RequestOptions extends GrantSelectorOptions {
  /** A JSON body (sent as `application/json`). Exclusive with `body`. */
  readonly json?: unknown;
  /** A raw body. Exclusive with `json`. Content type defaults to `text/plain;charset=UTF-8` for strings, the blob's type for a `Blob`, else `application/octet-stream`; set `content-type` in `extraHeaders` to override. */
  readonly body?: RequestBody;
  /** Headers for the upstream (printable ASCII values). `authorization`, `signature*`, `content-digest` and `latchkey-*` are reserved. */
  readonly extraHeaders?: Readonly<Record<string, string>>;
  /** Appended to the URL's query; an array repeats the key. */
  readonly queryParams?: QueryParams;
  /** Values for `{placeholders}` in the URL, each `encodeURIComponent`-ed. */
  readonly pathParams?: Readonly<Record<string, string>>;
  /** Why the call is made; recorded in the audit trail (printable ASCII, ≤ 500 chars). */
  readonly reason?: string;
  /** String map recorded in the audit trail (server limits: ≤ 20 entries, keys ≤ 64, values ≤ 256 chars). */
  readonly context?: Readonly<Record<string, string>>;
  /** Agent run id, for tracing in the audit trail. */
  readonly runId?: string;
  /** Conversation/thread id, for tracing. */
  readonly threadId?: string;
  /** Tool name, for tracing. */
  readonly tool?: string;
  /** Agent role, for tracing. */
  readonly role?: string;
  /** Aborts the call, including reading the response body. */
  readonly signal?: AbortSignal;
  /** Budget until the upstream's response headers arrive, in ms; defaults to the client's `timeout`. The body then streams without a budget (use `signal`). */
  readonly timeout?: number;
  /** Throw {@link ProviderAPIError} when the upstream answers with status ≥ 400 (default `false`). */
  readonly throwOnProviderError?: boolean;
}

// Header names this SDK writes; compile-time tied to the contract in @latchkey/api.
const H = {
  target: 'latchkey-target',
  grantId: 'latchkey-grant-id',
  provider: 'latchkey-provider',
  userToken: 'latchkey-user-token',
  account: 'latchkey-account',
  reason: 'latchkey-reason',
  context: 'latchkey-context',
  runId: 'latchkey-run-id',
  threadId: 'latchkey-thread-id',
  tool: 'latchkey-tool',
  role: 'latchkey-role',
} as const satisfies typeof FORWARD_HEADERS;

/** The response header Latchkey sets when it refused a forwarded call itself. */
export const LATCHKEY_ERROR_HEADER = 'latchkey-error';

const RESERVED_HEADERS = new Set([
  'authorization',
  'signature',
  'signature-input',
  'content-digest',
  'host',
  'content-length',
]);
const MAX_PROVIDER_ERROR_BODY = 65_536;

async function readStream(stream: ReadableStream<Uint8Array>): Promise<Uint8Array<ArrayBuffer>> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (!(value instanceof Uint8Array)) {
      await reader.cancel();
      throw new LatchkeyValueError('body streams must yield Uint8Array chunks.');
    }
    chunks.push(value);
    total += value.byteLength;
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}

/**
 * Buffers any supported body into bytes and picks its default content type.
 *
 * @throws {LatchkeyValueError} On an unsupported body type.
 */
export async function bufferBody(body: RequestBody): Promise<{ bytes: Uint8Array<ArrayBuffer>; contentType: string }> {
  const octets = 'application/octet-stream';
  if (typeof body === 'string') return { bytes: utf8(body), contentType: 'text/plain;charset=UTF-8' };
  if (body instanceof ArrayBuffer) return { bytes: new Uint8Array(body.slice(0)), contentType: octets };
  if (ArrayBuffer.isView(body)) {
    const view = new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
    return { bytes: new Uint8Array(view), contentType: octets };
  }
  if (typeof Blob !== 'undefined' && body instanceof Blob) {
    return { bytes: new Uint8Array(await body.arrayBuffer()), contentType: body.type || octets };
  }
  if (typeof ReadableStream !== 'undefined' && body instanceof ReadableStream) {
    return { bytes: await readStream(body), contentType: octets };
  }
  throw new LatchkeyValueError('body must be a string, Uint8Array, ArrayBuffer, Blob or ReadableStream.');
}

/** JSON with every non-ASCII character escaped, so it is a valid header value. */
function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

function responseHeaders(res: Response): Record<string, string> {
  const out: Record<string, string> = {};
  res.headers.forEach((value, name) => {
    out[name] = value;
  });
  return out;
}

/**
 * Sends one call through `/v1/forward` and returns the upstream's answer.
 *
 * @param userTokenGetter The client's `userTokenGetter`, asked when `provider` comes without `userToken`.
 * @throws {LatchkeyValueError} Before any I/O, on bad arguments.
 * @throws {BackendError} (subclass per code) when Latchkey refuses (`latchkey-error: 1`).
 * @throws {ProviderAPIError} When asked to and the upstream answers ≥ 400.
 * @throws {TimeoutError | NetworkError} When Latchkey does not answer in time or cannot be reached.
 */
export async function forwardRequest(
  transport: Transport,
  method: string,
  url: string,
  options: RequestOptions,
  userTokenGetter?: UserTokenGetter,
): Promise<Response> {
  if (!isObject(options)) throw new LatchkeyValueError('options must be an object with a grantId or provider.');
  const m = normalizeMethod(method);
  assertStringRecord(options.pathParams, 'pathParams');
  assertQueryParams(options.queryParams);
  assertStringRecord(options.extraHeaders, 'extraHeaders');
  assertStringRecord(options.context, 'context');
  assertTimeout(options.timeout);
  if (options.json !== undefined && options.body !== undefined) {
    throw new LatchkeyValueError('Give json or body, not both.');
  }
  const hasBody = options.json !== undefined || options.body !== undefined;
  if (hasBody && (m === 'GET' || m === 'HEAD')) throw new LatchkeyValueError(`A ${m} request cannot have a body.`);
  // Last of the checks: it may ask the client's userTokenGetter.
  const selector = await resolveSelector(options, userTokenGetter);
  if ('provider' in selector && selector.account !== undefined) assertHeaderValue(selector.account, 'account');

  const target = buildTargetUrl(url, options.pathParams, options.queryParams);
  const headers: Record<string, string> = {};
  let contentType: string | undefined;
  for (const [rawName, value] of Object.entries(options.extraHeaders ?? {})) {
    assertHeaderName(rawName, 'extraHeaders');
    const name = rawName.toLowerCase();
    if (RESERVED_HEADERS.has(name) || name.startsWith('latchkey-')) {
      throw new LatchkeyValueError(`extraHeaders cannot set ${name}: Latchkey sets or removes it.`);
    }
    assertHeaderValue(value, `extraHeaders.${name}`);
    // Trimmed here because fetch trims too, and the signed content-type must equal the sent one.
    if (name === 'content-type') contentType = value.trim();
    else headers[name] = value.trim();
  }
  headers[H.target] = target.href;
  if ('grantId' in selector) headers[H.grantId] = selector.grantId;
  else {
    headers[H.provider] = selector.provider;
    headers[H.userToken] = selector.userToken;
    if (selector.account !== undefined) headers[H.account] = selector.account;
  }
  const meta: ReadonlyArray<[keyof typeof H, string | undefined, number]> = [
    ['reason', options.reason, 500],
    ['runId', options.runId, 200],
    ['threadId', options.threadId, 200],
    ['tool', options.tool, 200],
    ['role', options.role, 200],
  ];
  for (const [key, value, max] of meta) {
    assertOptionalString(value, key, max);
    if (value === undefined || value === '') continue;
    assertHeaderValue(value, key);
    headers[H[key]] = value.trim();
  }
  if (options.context !== undefined) {
    const encoded = asciiJson(options.context);
    assertHeaderValue(encoded, 'context');
    headers[H.context] = encoded;
  }

  let body: Uint8Array<ArrayBuffer> | undefined;
  if (options.json !== undefined) {
    body = utf8(JSON.stringify(options.json));
    contentType ??= 'application/json';
  } else if (options.body !== undefined) {
    const buffered = await bufferBody(options.body);
    body = buffered.bytes;
    contentType ??= buffered.contentType;
  }

  const sent = await transport.send({
    method: m,
    url: transport.endpoint('/v1/forward'),
    headers,
    body,
    contentType,
    signal: options.signal,
    timeout: options.timeout,
  });
  const res = sent.response;
  if (res.headers.get(LATCHKEY_ERROR_HEADER) === '1') {
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      throw sent.mapError(err);
    } finally {
      sent.done();
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    throw errorFromResponse(res.status, parsed, res.headers);
  }
  // The budget covers the wait for headers; a streamed body (SSE, downloads) is bounded by `signal`.
  sent.done();
  if (options.throwOnProviderError === true && res.status >= 400) {
    let text = '';
    try {
      text = utf8Decode(new Uint8Array(await res.arrayBuffer())).slice(0, MAX_PROVIDER_ERROR_BODY);
    } catch (err) {
      throw sent.mapError(err);
    }
    throw new ProviderAPIError({ statusCode: res.status, responseHeaders: responseHeaders(res), responseBody: text });
  }
  return res;
}
