/**
 * AWS Signature V4: the official signing test suite (awslabs/aws-c-auth `aws-signing-test-suite/v4`,
 * 38 cases in ../shared/test-vectors/aws-sigv4/v4/, README there) run through smithy's signer built
 * the way the sign step builds it, then the step's own functions (scope from host, payload plan,
 * signing the final request).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { HttpRequest, type HeaderBag, type IHttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { describe, expect, it } from 'vitest';
import { LatchkeyError } from '../../../errors.js';
import type { HeaderMap } from '../proxy.types.js';
import {
  UNSIGNED_PAYLOAD,
  planSigV4,
  queryOf,
  resolveAwsScope,
  s3CanonicalPath,
  scopeFromHost,
  sigV4SignerInit,
  signSigV4,
} from './sign-sigv4.js';

const repoRoot = path.resolve(import.meta.dirname, '../../../../../..');
const SUITE = path.join(repoRoot, '..', 'shared', 'test-vectors', 'aws-sigv4', 'v4');

interface Context {
  credentials: { access_key_id: string; secret_access_key: string; token?: string };
  region: string;
  service: string;
  timestamp: string;
  normalize: boolean;
  sign_body: boolean;
  omit_session_token?: boolean;
}

/** A raw HTTP/1.1 request as the suite writes it (folded header lines, repeated names, raw UTF-8). */
function parseRequest(raw: string) {
  const text = raw.replace(/\r\n/g, '\n');
  const sep = text.indexOf('\n\n');
  const head = sep === -1 ? text : text.slice(0, sep);
  const body = sep === -1 ? '' : text.slice(sep + 2);
  const [requestLine = '', ...lines] = head.split('\n');
  const words = requestLine.split(' ');
  const method = words[0]!;
  const target = words.slice(1, -1).join(' '); // `GET /example space/ HTTP/1.1`
  const values: Record<string, string[]> = {};
  let last: string | undefined;
  for (const line of lines) {
    if (line === '') continue;
    if (/^[ \t]/.test(line) && last) {
      const list = values[last]!;
      list[list.length - 1] += ` ${line.trim()}`; // obs-fold: a continuation of the previous value
      continue;
    }
    const colon = line.indexOf(':');
    last = line.slice(0, colon).toLowerCase();
    (values[last] ??= []).push(line.slice(colon + 1).trim());
  }
  const headers: Record<string, string> = {};
  for (const [name, list] of Object.entries(values)) headers[name] = list.join(',');
  const q = target.indexOf('?');
  return {
    method,
    path: q === -1 ? target : target.slice(0, q),
    search: q === -1 ? '' : target.slice(q + 1),
    headers,
    body,
  };
}

/** smithy's signer, recording the two intermediate strings it computes. */
class RecordingSigner extends SignatureV4 {
  canonicalRequest = '';
  stringToSign = '';
  protected override createCanonicalRequest(request: IHttpRequest, headers: HeaderBag, payloadHash: string): string {
    this.canonicalRequest = super.createCanonicalRequest(request, headers, payloadHash);
    return this.canonicalRequest;
  }
  protected override async createStringToSign(
    longDate: string,
    scope: string,
    canonicalRequest: string,
    algorithm: string,
  ): Promise<string> {
    this.stringToSign = await super.createStringToSign(longDate, scope, canonicalRequest, algorithm);
    return this.stringToSign;
  }
}

const read = (c: string, f: string) => fs.readFileSync(path.join(SUITE, c, f), 'utf8').replace(/\r\n/g, '\n');
const cases = fs
  .readdirSync(SUITE, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();
const passed = new Set<string>();

describe('AWS SigV4 test suite (aws-c-auth v4, header signing)', () => {
  it('has the 38 cases of the suite', () => {
    expect(cases).toHaveLength(38);
  });

  it.each(cases)('%s: canonical request, string to sign and signature', async (name) => {
    const ctx = JSON.parse(read(name, 'context.json')) as Context;
    const req = parseRequest(read(name, 'request.txt'));
    const credentials = {
      accessKeyId: ctx.credentials.access_key_id,
      secretAccessKey: ctx.credentials.secret_access_key,
      // `omit_session_token` (post-sts-header-after): the token is added after signing, unsigned.
      ...(ctx.credentials.token && !ctx.omit_session_token ? { sessionToken: ctx.credentials.token } : {}),
    };
    const signer = new RecordingSigner({
      ...sigV4SignerInit({ region: ctx.region, service: ctx.service }, credentials),
      // normalize: false is S3's canonical path (encoded once, never normalized), which the sign step
      // produces with s3CanonicalPath and uriEscapePath off; normalize: true is every other service's.
      uriEscapePath: ctx.normalize,
      // sign_body: whether x-amz-content-sha256 is added (and signed); the step always adds it.
      applyChecksum: ctx.sign_body,
    });
    const signed = await signer.sign(
      new HttpRequest({
        method: req.method,
        protocol: 'https:',
        hostname: req.headers['host']!,
        path: ctx.normalize ? req.path : s3CanonicalPath(req.path),
        query: queryOf(new URLSearchParams(req.search)),
        headers: req.headers,
        ...(req.body ? { body: req.body } : {}),
      }),
      { signingDate: new Date(ctx.timestamp) },
    );
    expect(signer.canonicalRequest).toBe(read(name, 'header-canonical-request.txt').replace(/\n$/, ''));
    expect(signer.stringToSign).toBe(read(name, 'header-string-to-sign.txt').replace(/\n$/, ''));
    const signature = read(name, 'header-signature.txt').trim();
    expect(signed.headers['authorization']).toMatch(new RegExp(`, Signature=${signature}$`));
    passed.add(name);
  });

  it('passed every case (38/38)', () => {
    expect([...passed].sort()).toEqual(cases);
    expect(passed.size).toBe(38);
  });

  // The step's own signing path, end to end, on the suite's cases that hash the body.
  it.each(['post-x-www-form-urlencoded', 'post-x-www-form-urlencoded-parameters'])(
    '%s: signSigV4 produces the suite signature',
    async (name) => {
      const ctx = JSON.parse(read(name, 'context.json')) as Context;
      const req = parseRequest(read(name, 'request.txt'));
      const url = new URL(`https://${req.headers['host']}${req.path}`);
      const headers: HeaderMap = { 'content-type': req.headers['content-type']!, 'content-length': '13' };
      const plan = await planSigV4(
        { region: ctx.region, service: ctx.service },
        { method: req.method, url, body: Buffer.from(req.body) },
        1024,
        new Date(ctx.timestamp),
      );
      const redact = await signSigV4(ctx.credentials, plan, headers, url);
      expect(headers['authorization']).toBe(
        `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, ` +
          `SignedHeaders=content-length;content-type;host;x-amz-content-sha256;x-amz-date, ` +
          `Signature=${read(name, 'header-signature.txt').trim()}`,
      );
      expect(headers['host']).toBe('example.amazonaws.com');
      expect(redact).toEqual([ctx.credentials.secret_access_key]);
    },
  );
});

describe('scopeFromHost', () => {
  it.each([
    ['s3.eu-west-1.amazonaws.com', 'eu-west-1', 's3'],
    ['bucket.s3.us-east-2.amazonaws.com', 'us-east-2', 's3'],
    ['my-bucket-1.s3.amazonaws.com', 'us-east-1', 's3'],
    ['s3.amazonaws.com', 'us-east-1', 's3'],
    ['s3-eu-west-1.amazonaws.com', 'eu-west-1', 's3'],
    ['bucket.s3-external-1.amazonaws.com', 'us-east-1', 's3'],
    ['s3.dualstack.ap-southeast-2.amazonaws.com', 'ap-southeast-2', 's3'],
    ['bucket.s3-fips.dualstack.us-gov-west-1.amazonaws.com', 'us-gov-west-1', 's3'],
    ['ap-111122223333.s3-accesspoint.eu-central-1.amazonaws.com', 'eu-central-1', 's3'],
    ['bedrock-runtime.us-west-2.amazonaws.com', 'us-west-2', 'bedrock'],
    ['bedrock-runtime-fips.us-east-1.amazonaws.com', 'us-east-1', 'bedrock'],
    ['sts.amazonaws.com', 'us-east-1', 'sts'],
    ['sts.eu-north-1.amazonaws.com', 'eu-north-1', 'sts'],
    ['sts-fips.us-east-2.amazonaws.com', 'us-east-2', 'sts'],
    ['iam.amazonaws.com', 'us-east-1', 'iam'],
    ['email.eu-west-1.amazonaws.com', 'eu-west-1', 'ses'],
    ['abc123.execute-api.ca-central-1.amazonaws.com', 'ca-central-1', 'execute-api'],
    ['runtime.sagemaker.me-south-1.amazonaws.com', 'me-south-1', 'sagemaker'],
    ['streams.dynamodb.il-central-1.amazonaws.com', 'il-central-1', 'dynamodb'],
    ['search-logs-abc.us-east-1.es.amazonaws.com', 'us-east-1', 'es'],
    ['s3.cn-north-1.amazonaws.com.cn', 'cn-north-1', 's3'],
    ['dynamodb.us-isob-east-1.amazonaws.com', 'us-isob-east-1', 'dynamodb'],
    ['SQS.US-EAST-1.AMAZONAWS.COM.', 'us-east-1', 'sqs'],
  ])('%s → %s / %s', (host, region, service) => {
    expect(scopeFromHost(host)).toEqual({ region, service });
  });

  it.each(['127.0.0.2', 'example.com', 'amazonaws.com', 'evil-amazonaws.com', 'amazonaws.com.evil.example'])(
    '%s tells nothing',
    (host) => {
      expect(scopeFromHost(host)).toEqual({});
    },
  );

  it('a global China host gives a service but no region', () => {
    expect(scopeFromHost('iam.amazonaws.com.cn')).toEqual({ service: 'iam' });
  });
});

describe('resolveAwsScope', () => {
  it('the secret config wins over the host, field by field', () => {
    const url = new URL('https://s3.eu-west-1.amazonaws.com/b/k');
    expect(resolveAwsScope(url, {})).toEqual({ region: 'eu-west-1', service: 's3' });
    expect(resolveAwsScope(url, { region: 'us-east-1' })).toEqual({ region: 'us-east-1', service: 's3' });
    expect(resolveAwsScope(new URL('http://127.0.0.2:9000/b'), { region: 'auto', service: 's3' })).toEqual({
      region: 'auto',
      service: 's3',
    });
  });

  it('a host that gives neither, without config, is invalid_request', () => {
    const url = new URL('http://127.0.0.2:9000/b');
    for (const inj of [{}, { region: 'us-east-1' }, { service: 's3' }]) {
      const err = (() => {
        try {
          resolveAwsScope(url, inj);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(err).toBeInstanceOf(LatchkeyError);
      expect((err as LatchkeyError).code).toBe('invalid_request');
      expect((err as LatchkeyError).status).toBe(400);
    }
  });
});

describe('s3CanonicalPath', () => {
  it.each([
    ['/bucket/a b(1)!.txt', '/bucket/a%20b%281%29%21.txt'],
    ['/bucket/a%20b', '/bucket/a%20b'],
    ['/bucket/caf%C3%A9/x+y', '/bucket/caf%C3%A9/x%2By'],
    ['//example//', '//example//'],
    ['/example/..', '/example/..'],
    ['/bucket/100%', '/bucket/100%25'],
    ['/bucket/a%2Fb', '/bucket/a%2Fb'],
  ])('%s → %s', (input, expected) => {
    expect(s3CanonicalPath(input)).toBe(expected);
  });
});

describe('planSigV4', () => {
  const at = new Date('2026-01-02T03:04:05Z');
  const s3 = { region: 'us-east-1', service: 's3' };

  it('hashes a buffered body, and no body as the empty hash', async () => {
    const url = new URL('https://sts.amazonaws.com/');
    const plan = await planSigV4({}, { method: 'POST', url, body: Buffer.from('Action=GetCallerIdentity') }, 100, at);
    expect(plan.payloadHash).toBe(createHash('sha256').update('Action=GetCallerIdentity').digest('hex'));
    expect((await planSigV4({}, { method: 'GET', url }, 100, at)).payloadHash).toBe(
      createHash('sha256').update('').digest('hex'),
    );
  });

  it('streams to S3 as UNSIGNED-PAYLOAD, without reading the stream', async () => {
    const stream = Readable.from([Buffer.from('abc')]);
    const plan = await planSigV4(s3, { method: 'PUT', url: new URL('http://127.0.0.2/b/k'), body: stream }, 1, at);
    expect(plan.payloadHash).toBe(UNSIGNED_PAYLOAD);
    expect(plan.body).toBe(stream);
  });

  it('reads a stream for any other service, bounded by maxBodyBytes', async () => {
    const url = new URL('https://bedrock-runtime.us-west-2.amazonaws.com/model/m/invoke');
    const plan = await planSigV4(
      {},
      { method: 'POST', url, body: Readable.from([Buffer.from('{"a"'), Buffer.from(':1}')]) },
      100,
      at,
    );
    expect(plan.body).toEqual(Buffer.from('{"a":1}'));
    expect(plan.payloadHash).toBe(createHash('sha256').update('{"a":1}').digest('hex'));
    await expect(
      planSigV4({}, { method: 'POST', url, body: Readable.from([Buffer.alloc(60), Buffer.alloc(60)]) }, 100, at),
    ).rejects.toMatchObject({ code: 'payload_too_large', status: 413 });
  });
});

describe('signSigV4', () => {
  const value = {
    access_key_id: 'AKIAIOSFODNN7EXAMPLE',
    secret_access_key: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  };
  const at = new Date('2026-01-02T03:04:05Z');

  it('signs host with its port, canonicalizes the query and drops presigned-URL parameters', async () => {
    const url = new URL(
      'http://127.0.0.2:9000/b/my key(1)?prefix=a+b&X-Amz-Signature=x&x-amz-credential=y&list-type=2&acl',
    );
    const headers: HeaderMap = { 'content-type': 'text/plain', 'x-amz-meta-tag': ['a', 'b'] };
    const plan = await planSigV4({ region: 'us-east-1', service: 's3' }, { method: 'GET', url }, 100, at);
    const redact = await signSigV4(value, plan, headers, url);
    expect(url.pathname).toBe('/b/my%20key%281%29');
    expect(url.search).toBe('?acl=&list-type=2&prefix=a%20b');
    expect(headers['host']).toBe('127.0.0.2:9000');
    expect(headers['x-amz-date']).toBe('20260102T030405Z');
    expect(headers['x-amz-content-sha256']).toBe(createHash('sha256').update('').digest('hex'));
    expect(headers['x-amz-security-token']).toBeUndefined();
    expect(headers['authorization']).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE\/20260102\/us-east-1\/s3\/aws4_request, SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-meta-tag, Signature=[0-9a-f]{64}$/,
    );
    expect(headers['x-amz-meta-tag']).toEqual(['a', 'b']); // sent as two lines, signed as `a,b`
    expect(redact).toEqual([value.secret_access_key]);
  });

  it('sends and signs a session token, and redacts it', async () => {
    const url = new URL('https://sts.amazonaws.com/?Version=2011-06-15&Action=GetCallerIdentity');
    const headers: HeaderMap = {};
    const token = 'FwoGZXIvYXdzEXAMPLE//token=';
    const plan = await planSigV4({}, { method: 'GET', url }, 100, at);
    const redact = await signSigV4({ ...value, session_token: token }, plan, headers, url);
    expect(headers['x-amz-security-token']).toBe(token);
    expect(headers['authorization']).toContain('/us-east-1/sts/aws4_request');
    expect(headers['authorization']).toContain(
      'SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token',
    );
    expect(url.search).toBe('?Action=GetCallerIdentity&Version=2011-06-15');
    expect(redact).toEqual([value.secret_access_key, token]);
  });
});
