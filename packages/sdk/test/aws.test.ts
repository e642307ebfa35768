/**
 * `awsRequestHandler()` in isolation, with a recording stand-in for `App.request` (the end-to-end
 * run with `@aws-sdk/client-s3` against a signature-checking S3 server is server/test/aws-sdk.test.ts).
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { LatchkeyValueError, awsRequestHandler, type AwsHttpRequest, type RequestOptions } from '../src/index.js';

const GRANT = '0b7f1e52-3c1a-4d7e-9f55-2a8b6c1d0e9f';

function recorder(
  response: () => Response = () => new Response('ok', { status: 200, headers: { 'x-amz-id-2': 'id' } }),
) {
  const calls: { method: string; url: string; options: RequestOptions }[] = [];
  return {
    calls,
    client: {
      async request(method: string, url: string, options: RequestOptions) {
        calls.push({ method, url, options });
        return response();
      },
    },
  };
}

function req(over: Partial<AwsHttpRequest> = {}): AwsHttpRequest {
  return {
    method: 'GET',
    protocol: 'https:',
    hostname: 'bucket.s3.eu-west-1.amazonaws.com',
    path: '/reports/q3%20final.csv',
    headers: {},
    ...over,
  };
}

async function text(body: unknown): Promise<string> {
  return new Response(body as ReadableStream).text();
}

function chunked(parts: string[], trailers: string): Uint8Array {
  const enc = new TextEncoder();
  const frames = parts.map((p) => `${enc.encode(p).byteLength.toString(16)}\r\n${p}\r\n`).join('');
  return enc.encode(`${frames}0\r\n${trailers}\r\n`);
}

describe('awsRequestHandler', () => {
  it('rejects missing options before any I/O', () => {
    expect(() => awsRequestHandler(undefined as never)).toThrow(LatchkeyValueError);
    expect(() => awsRequestHandler({ client: {} as never, grantId: GRANT })).toThrow(LatchkeyValueError);
    expect(() => awsRequestHandler({ client: recorder().client, grantId: 1 as never })).toThrow(LatchkeyValueError);
  });

  it('implements the HttpHandler surface the AWS SDK calls', () => {
    const h = awsRequestHandler({ client: recorder().client, grantId: GRANT });
    expect(h.metadata.handlerProtocol).toBe('http/1.1');
    expect(h.httpHandlerConfigs()).toEqual({});
    expect(() => h.updateHttpClientConfig(undefined as never, undefined as never)).not.toThrow();
    expect(() => h.destroy()).not.toThrow();
  });

  it('sends the request through client.request with the URL, query and headers, minus the SDK signature', async () => {
    const r = recorder();
    const h = awsRequestHandler({ client: r.client, grantId: GRANT, reason: 'nightly export' });
    const { response } = await h.handle(
      req({
        protocol: 'http',
        hostname: '127.0.0.2',
        port: 9000,
        query: { 'list-type': '2', prefix: "a b/(c)!'*", uploads: null, tag: ['x', 'y'] },
        headers: {
          Authorization: 'AWS4-HMAC-SHA256 Credential=placeholder/…',
          'X-Amz-Date': '20260101T000000Z',
          'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
          'x-amz-security-token': 'placeholder',
          host: '127.0.0.2:9000',
          'content-length': '0',
          expect: '100-continue',
          'latchkey-grant-id': 'not-this-one',
          'x-amz-meta-owner': 'finance',
          'amz-sdk-invocation-id': 'abc',
        },
      }),
    );
    expect(r.calls).toHaveLength(1);
    const call = r.calls[0]!;
    expect(call.method).toBe('GET');
    expect(call.url).toBe(
      'http://127.0.0.2:9000/reports/q3%20final.csv?list-type=2&prefix=a%20b%2F%28c%29%21%27%2A&uploads&tag=x&tag=y',
    );
    expect(call.options.grantId).toBe(GRANT);
    expect(call.options.reason).toBe('nightly export');
    expect(call.options.extraHeaders).toEqual({ 'x-amz-meta-owner': 'finance', 'amz-sdk-invocation-id': 'abc' });
    expect(call.options.body).toBeUndefined();
    expect(response.statusCode).toBe(200);
    expect(response.headers['x-amz-id-2']).toBe('id');
    expect(await text(response.body)).toBe('ok');
  });

  it('converts bodies: strings and bytes as-is, empty ones dropped, a Node.js Readable read', async () => {
    const r = recorder();
    const h = awsRequestHandler({ client: r.client, grantId: GRANT });
    await h.handle(req({ method: 'PUT', body: 'hello' }));
    await h.handle(req({ method: 'PUT', body: new Uint8Array([1, 2]) }));
    await h.handle(req({ method: 'GET', body: '' }));
    await h.handle(req({ method: 'PUT', body: Readable.from([Buffer.from('ab'), 'cd']) }));
    expect(new TextDecoder().decode(r.calls[0]!.options.body as Uint8Array)).toBe('hello');
    expect([...(r.calls[1]!.options.body as Uint8Array)]).toEqual([1, 2]);
    expect(r.calls[2]!.options.body).toBeUndefined();
    expect(new TextDecoder().decode(r.calls[3]!.options.body as Uint8Array)).toBe('abcd');
    await expect(h.handle(req({ method: 'PUT', body: 42 }))).rejects.toBeInstanceOf(LatchkeyValueError);
  });

  it('unframes an aws-chunked upload: plain payload, trailers as headers', async () => {
    const r = recorder();
    const h = awsRequestHandler({ client: r.client, grantId: GRANT });
    await h.handle(
      req({
        method: 'PUT',
        headers: {
          'content-encoding': 'aws-chunked',
          'x-amz-decoded-content-length': '11',
          'x-amz-trailer': 'x-amz-checksum-crc32',
          'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
          'content-type': 'text/plain',
        },
        body: chunked(['hello ', 'world'], 'x-amz-checksum-crc32:DUoRhQ=='),
      }),
    );
    const o = r.calls[0]!.options;
    expect(new TextDecoder().decode(o.body as Uint8Array)).toBe('hello world');
    expect(o.extraHeaders).toEqual({ 'content-type': 'text/plain', 'x-amz-checksum-crc32': 'DUoRhQ==' });

    await h.handle(
      req({ method: 'PUT', headers: { 'content-encoding': 'gzip, aws-chunked' }, body: chunked(['x'], '') }),
    );
    expect(r.calls[1]!.options.extraHeaders).toEqual({ 'content-encoding': 'gzip' });

    await expect(
      h.handle(req({ method: 'PUT', headers: { 'content-encoding': 'aws-chunked' }, body: 'zz\r\nabc' })),
    ).rejects.toBeInstanceOf(LatchkeyValueError);
  });

  it('passes the abort signal (native and the older onabort shape) and the request timeout', async () => {
    const r = recorder();
    const h = awsRequestHandler({ client: r.client, grantId: GRANT });
    const native = new AbortController();
    await h.handle(req(), { abortSignal: native.signal, requestTimeout: 1500 });
    expect(r.calls[0]!.options.signal).toBe(native.signal);
    expect(r.calls[0]!.options.timeout).toBe(1500);

    let previousCalled = false;
    const legacy = {
      aborted: false,
      onabort: (() => {
        previousCalled = true;
      }) as ((...args: unknown[]) => unknown) | null,
    };
    await h.handle(req(), { abortSignal: legacy });
    const passed = r.calls[1]!.options.signal!;
    expect(passed.aborted).toBe(false);
    legacy.onabort!();
    expect(passed.aborted).toBe(true);
    expect(previousCalled).toBe(true);
  });

  it('answers a body-less response with an empty stream, or what mapResponseBody makes of it', async () => {
    const h = awsRequestHandler({
      client: recorder(() => new Response(null, { status: 204 })).client,
      grantId: GRANT,
    });
    const { response } = await h.handle(req({ method: 'HEAD' }));
    expect(response.statusCode).toBe(204);
    expect(await text(response.body)).toBe('');

    const mapped = awsRequestHandler({
      client: recorder().client,
      grantId: GRANT,
      mapResponseBody: (b) => Readable.fromWeb(b as never),
    });
    const out = await mapped.handle(req());
    expect(out.response.body).toBeInstanceOf(Readable);
  });
});
