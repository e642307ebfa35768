/**
 * `awsRequestHandler()`: a request handler for AWS SDK v3 clients that sends every request through
 * Latchkey (`ANY /v1/forward`), where it is signed with the stored `aws_sigv4` credential (DESIGN
 * §4.1 step 8). The types below are structural copies of `@smithy/types`, so this package takes no
 * dependency on AWS packages.
 */
import { utf8 } from './encoding.js';
import { LatchkeyValueError } from './errors.js';
import type { RequestBody, RequestOptions } from './forward.js';

/** The fields of an AWS SDK v3 `HttpRequest` (`@smithy/protocol-http`) the handler reads. */
export interface AwsHttpRequest {
  method: string;
  /** `https:` or `https` (either form). */
  protocol: string;
  hostname: string;
  port?: number;
  /** Already URI-encoded by the AWS SDK. */
  path: string;
  query?: Record<string, string | string[] | null>;
  headers: Record<string, string>;
  body?: unknown;
}

/** An AWS SDK v3 `HttpResponse`: what the handler returns. */
export interface AwsHttpResponse {
  statusCode: number;
  reason?: string;
  /** Lowercase names. */
  headers: Record<string, string>;
  /** A WHATWG `ReadableStream` (or what `mapResponseBody` made of it). */
  body: unknown;
}

/** Per-request options the AWS SDK passes (`HttpHandlerOptions`). */
export interface AwsHttpHandlerOptions {
  /** A WHATWG `AbortSignal`, or the older `@aws-sdk/abort-controller` shape (`aborted`, `onabort`). */
  abortSignal?: AbortSignal | { readonly aborted: boolean; onabort?: unknown };
  /** Budget until the response headers arrive, in ms. */
  requestTimeout?: number;
}

/** The AWS SDK v3 `HttpHandler` interface (`requestHandler` of any client config). */
export interface AwsRequestHandler {
  readonly metadata: { readonly handlerProtocol: string };
  handle(request: AwsHttpRequest, options?: AwsHttpHandlerOptions): Promise<{ response: AwsHttpResponse }>;
  updateHttpClientConfig(key: never, value: never): void;
  httpHandlerConfigs(): Record<string, never>;
  destroy(): void;
}

/** Options of {@link awsRequestHandler}. */
export interface AwsRequestHandlerOptions {
  /** A Latchkey client (an `App`), or anything with its `request()`. */
  readonly client: { request(method: string, url: string, options: RequestOptions): Promise<Response> };
  /** A grant on an `aws_sigv4` managed secret whose `allowedHosts` cover the client's endpoint. */
  readonly grantId: string;
  /** Recorded in the audit trail with every call. */
  readonly reason?: string;
  /**
   * Turns the response body (a WHATWG `ReadableStream`) into what your code expects. AWS SDK v3 on
   * Node.js accepts the web stream (`Body.transformToString()` works); pass
   * `(b) => Readable.fromWeb(b)` to get a Node.js `Readable` (e.g. for `Body.pipe()`).
   */
  readonly mapResponseBody?: (body: ReadableStream<Uint8Array>) => unknown;
}

// The AWS SDK's own signature and framing: Latchkey re-signs, and fetch frames the body.
const DROPPED_HEADERS = new Set([
  'authorization',
  'x-amz-date',
  'x-amz-security-token',
  'x-amz-content-sha256',
  'host',
  'content-length',
  'expect',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'te',
  'upgrade',
  'signature',
  'signature-input',
  'content-digest',
]);

/** RFC 3986 encoding of everything but unreserved characters, as AWS signs query strings. */
function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function targetUrl(r: AwsHttpRequest): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(r.query ?? {})) {
    if (v === null) parts.push(uriEncode(k));
    else for (const item of Array.isArray(v) ? v : [v]) parts.push(`${uriEncode(k)}=${uriEncode(item)}`);
  }
  const scheme = r.protocol.endsWith(':') ? r.protocol : `${r.protocol}:`;
  const host = r.hostname.includes(':') && !r.hostname.startsWith('[') ? `[${r.hostname}]` : r.hostname;
  const path = r.path.startsWith('/') ? r.path : `/${r.path}`;
  return `${scheme}//${host}${r.port ? `:${r.port}` : ''}${path}${parts.length ? `?${parts.join('&')}` : ''}`;
}

async function bodyOf(body: unknown): Promise<RequestBody | undefined> {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return body.length ? utf8(body) : undefined;
  if (body instanceof ArrayBuffer) return body.byteLength ? body : undefined;
  if (ArrayBuffer.isView(body)) return body.byteLength ? body : undefined;
  if (typeof Blob !== 'undefined' && body instanceof Blob) return body.size ? body : undefined;
  if (typeof ReadableStream !== 'undefined' && body instanceof ReadableStream)
    return body as ReadableStream<Uint8Array>;
  if (typeof (body as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function') {
    // A Node.js Readable (fs.createReadStream…): read it, as request() buffers bodies anyway.
    const chunks: Uint8Array[] = [];
    let total = 0;
    for await (const chunk of body as AsyncIterable<unknown>) {
      const c = typeof chunk === 'string' ? utf8(chunk) : chunk;
      if (!(c instanceof Uint8Array)) throw new LatchkeyValueError('AWS request body streams must yield bytes.');
      chunks.push(c);
      total += c.byteLength;
    }
    const out = new Uint8Array(total);
    let offset = 0;
    for (const c of chunks) {
      out.set(c, offset);
      offset += c.byteLength;
    }
    return total ? out : undefined;
  }
  throw new LatchkeyValueError('Unsupported AWS request body type.');
}

const CRLF = [13, 10] as const;

function indexOfCrlf(bytes: Uint8Array, from: number): number {
  for (let i = from; i + 1 < bytes.length; i++) if (bytes[i] === CRLF[0] && bytes[i + 1] === CRLF[1]) return i;
  return -1;
}

/**
 * Decodes an `aws-chunked` body (what the AWS SDK sends for a streamed upload with a trailing
 * checksum): the payload, and the trailer fields, which become plain headers.
 */
function decodeAwsChunked(bytes: Uint8Array): { payload: Uint8Array; trailers: Record<string, string> } {
  const malformed = () => new LatchkeyValueError('The aws-chunked request body is malformed.');
  const decoder = new TextDecoder();
  const parts: Uint8Array[] = [];
  let total = 0;
  let pos = 0;
  for (;;) {
    const eol = indexOfCrlf(bytes, pos);
    if (eol === -1) throw malformed();
    const size = Number.parseInt(decoder.decode(bytes.subarray(pos, eol)).split(';')[0]!.trim(), 16);
    if (!Number.isSafeInteger(size) || size < 0) throw malformed();
    pos = eol + 2;
    if (size === 0) break;
    if (pos + size + 2 > bytes.length || bytes[pos + size] !== CRLF[0] || bytes[pos + size + 1] !== CRLF[1]) {
      throw malformed();
    }
    parts.push(bytes.subarray(pos, pos + size));
    total += size;
    pos += size + 2;
  }
  const trailers: Record<string, string> = {};
  for (;;) {
    const eol = indexOfCrlf(bytes, pos);
    if (eol === -1 || eol === pos) break;
    const line = decoder.decode(bytes.subarray(pos, eol));
    const colon = line.indexOf(':');
    if (colon <= 0) throw malformed();
    trailers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    pos = eol + 2;
  }
  const payload = new Uint8Array(total);
  let offset = 0;
  for (const p of parts) {
    payload.set(p, offset);
    offset += p.byteLength;
  }
  return { payload, trailers };
}

async function bytesOf(body: RequestBody): Promise<Uint8Array> {
  if (typeof body === 'string') return utf8(body);
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  if (ArrayBuffer.isView(body)) return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  return new Uint8Array(await new Response(body).arrayBuffer());
}

function signalOf(s: AwsHttpHandlerOptions['abortSignal']): AbortSignal | undefined {
  if (s === undefined) return undefined;
  if (typeof AbortSignal !== 'undefined' && s instanceof AbortSignal) return s;
  // The older @aws-sdk/abort-controller signal calls `onabort` (no events): chain onto it.
  const legacy = s as { readonly aborted: boolean; onabort: ((...args: unknown[]) => unknown) | null };
  const controller = new AbortController();
  if (legacy.aborted) controller.abort();
  else {
    const previous = legacy.onabort;
    legacy.onabort = (...args: unknown[]) => {
      controller.abort();
      return previous?.(...args);
    };
  }
  return controller.signal;
}

/**
 * Creates a request handler for AWS SDK v3 clients: every request the client makes is sent through
 * Latchkey with `client.request()`, and Latchkey signs it (AWS Signature V4) with the real key of an
 * `aws_sigv4` managed secret. Build the AWS client with placeholder credentials: its own signature
 * headers (`authorization`, `x-amz-date`, `x-amz-content-sha256`, `x-amz-security-token`) are dropped
 * here, and Latchkey would remove them anyway. Request bodies are read into memory (`request()` signs
 * them); response bodies stream.
 *
 * A streamed upload that the AWS SDK frames as `aws-chunked` (with a trailing checksum) is unframed
 * here: its payload is sent plain and its trailers (`x-amz-checksum-*`) as headers.
 *
 * @param options `{ client, grantId, reason?, mapResponseBody? }`.
 * @returns An object implementing the AWS SDK v3 `HttpHandler` interface.
 * @throws {LatchkeyValueError} From `handle()`: an unsupported or malformed body, or bad arguments; and every error of `App.request` (e.g. `GrantNotFoundError`, `PolicyViolationError`).
 *   AWS errors (4xx/5xx) are returned to the AWS SDK, which throws its own exceptions.
 * @example
 * import { S3Client, GetObjectCommand } from '@aws-sdk/client-s3'
 * const s3 = new S3Client({
 *   region: 'eu-west-1',
 *   credentials: { accessKeyId: 'placeholder', secretAccessKey: 'placeholder' },
 *   requestHandler: awsRequestHandler({ client: app, grantId }),
 * })
 * const obj = await s3.send(new GetObjectCommand({ Bucket: 'reports', Key: 'q3.csv' }))
 */
export function awsRequestHandler(options: AwsRequestHandlerOptions): AwsRequestHandler {
  if (typeof options !== 'object' || options === null || typeof options.client?.request !== 'function') {
    throw new LatchkeyValueError('awsRequestHandler needs { client, grantId }.');
  }
  if (typeof options.grantId !== 'string') throw new LatchkeyValueError('grantId must be a grant id.');
  const { client, grantId, reason, mapResponseBody } = options;
  return {
    metadata: { handlerProtocol: 'http/1.1' },
    async handle(request, handlerOptions = {}) {
      const extraHeaders: Record<string, string> = {};
      for (const [rawName, value] of Object.entries(request.headers)) {
        const name = rawName.toLowerCase();
        if (DROPPED_HEADERS.has(name) || name.startsWith('latchkey-') || name.startsWith('proxy-')) continue;
        extraHeaders[name] = value;
      }
      let body = await bodyOf(request.body);
      const encodings = (extraHeaders['content-encoding'] ?? '').split(',').map((e) => e.trim());
      if (encodings.some((e) => e.toLowerCase() === 'aws-chunked')) {
        // A streamed upload with a trailing checksum, framed for the AWS SDK's own streaming
        // signature: sent plain instead (Latchkey signs the whole body), the trailers as headers.
        const { payload, trailers } = decodeAwsChunked(body === undefined ? new Uint8Array() : await bytesOf(body));
        const rest = encodings.filter((e) => e !== '' && e.toLowerCase() !== 'aws-chunked');
        if (rest.length) extraHeaders['content-encoding'] = rest.join(', ');
        else delete extraHeaders['content-encoding'];
        delete extraHeaders['x-amz-decoded-content-length'];
        delete extraHeaders['x-amz-trailer'];
        for (const [name, value] of Object.entries(trailers)) extraHeaders[name] = value;
        body = payload.byteLength ? payload : undefined;
      }
      const res = await client.request(request.method, targetUrl(request), {
        grantId,
        extraHeaders,
        ...(body !== undefined ? { body } : {}),
        ...(reason !== undefined ? { reason } : {}),
        ...(handlerOptions.abortSignal ? { signal: signalOf(handlerOptions.abortSignal) } : {}),
        ...(handlerOptions.requestTimeout ? { timeout: handlerOptions.requestTimeout } : {}),
      });
      const headers: Record<string, string> = {};
      res.headers.forEach((value, name) => {
        headers[name] = value;
      });
      const stream =
        res.body ??
        new ReadableStream<Uint8Array>({
          start(c) {
            c.close();
          },
        });
      return {
        response: {
          statusCode: res.status,
          reason: res.statusText,
          headers,
          body: mapResponseBody ? mapResponseBody(stream) : stream,
        },
      };
    },
    updateHttpClientConfig() {},
    httpHandlerConfigs() {
      return {};
    },
    destroy() {},
  };
}
