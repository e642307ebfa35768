import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4, getCanonicalQuery, type SignatureV4CryptoInit, type SignatureV4Init } from '@smithy/signature-v4';
import { LatchkeyError } from '../../../errors.js';
import type { HeaderMap } from '../proxy.types.js';

// Step 8 for `aws_sigv4` credentials: AWS Signature Version 4 over the final outgoing request, with
// @smithy/signature-v4 (the AWS SDK's own signer). Two phases, so the secret is opened only after
// any slow work: `planSigV4` (scope and payload hash, no secret) and `signSigV4` (with the secret).
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html

/** Region and signing name (`service`) of a SigV4 credential scope. */
export interface AwsScope {
  readonly region: string;
  readonly service: string;
}

/** What {@link planSigV4} decided before the secret is opened. */
export interface SigV4Plan {
  readonly scope: AwsScope;
  readonly method: string;
  /** The body to send: the caller's, or the caller's stream read into memory so it could be hashed. */
  readonly body: Buffer | Readable | null;
  /** Hex SHA-256 of the body, or `UNSIGNED-PAYLOAD` (S3 only, for a streamed body). */
  readonly payloadHash: string;
  readonly signingDate: Date;
}

/** The decoded `aws_sigv4` secret value (canonical JSON, see `canonicalValue`). */
export interface AwsSigV4Value {
  readonly access_key_id: string;
  readonly secret_access_key: string;
  readonly session_token?: string;
}

/** Payload hash of a request that states it is not hashing its body (S3 only). */
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

// Region names of every partition: us-east-1, eu-central-2, ap-southeast-5, us-gov-west-1, cn-north-1,
// us-iso-east-1, us-isob-east-1, eu-isoe-west-1. Strict on purpose: a bucket name such as
// `my-bucket-1` in a virtual-hosted S3 host must not be read as a region.
const REGION =
  /^(?:us|eu|ap|sa|ca|me|af|il|mx|cn)(?:-gov|-iso[a-z]?)?-(?:(?:north|south)(?:east|west)?|east|west|central)-\d{1,2}$/;
// Endpoint prefixes whose signing name differs (the AWS SDK models' `signingName`).
const SIGNING_NAMES: Readonly<Record<string, string>> = {
  'bedrock-runtime': 'bedrock',
  'bedrock-agent': 'bedrock',
  'bedrock-agent-runtime': 'bedrock',
  email: 'ses',
  's3-accelerate': 's3',
  's3-accesspoint': 's3',
  's3-control': 's3',
};
// Services whose hosts put the region before the service: `<domain>.<region>.es.amazonaws.com`.
const REGION_FIRST = new Set(['es', 'aoss']);
// Query parameters of a presigned URL: a second authentication mechanism that AWS refuses next to ours.
const PRESIGN_PARAMS = new Set([
  'x-amz-algorithm',
  'x-amz-credential',
  'x-amz-date',
  'x-amz-expires',
  'x-amz-security-token',
  'x-amz-signature',
  'x-amz-signedheaders',
]);
// Headers the signer writes; they replace whatever the outgoing request had.
const SIGNED_OUTPUT = ['authorization', 'x-amz-date', 'x-amz-security-token', 'x-amz-content-sha256', 'host'];

/**
 * Reads the SigV4 scope from an AWS host name: `s3.eu-west-1.amazonaws.com` → `eu-west-1`/`s3`,
 * `bucket.s3.us-east-2.amazonaws.com` → `us-east-2`/`s3`, `bedrock-runtime.us-west-2.amazonaws.com`
 * → `us-west-2`/`bedrock`, global endpoints (`sts.amazonaws.com`, `s3.amazonaws.com`) →
 * `us-east-1`; `dualstack` and `-fips` variants, legacy `s3-<region>` hosts and the China partition
 * (`.amazonaws.com.cn`) too.
 *
 * @param hostname a URL host name (no port).
 * @returns the parts the host tells; `{}` for a host outside `amazonaws.com`.
 * @example scopeFromHost('sts.amazonaws.com') // { region: 'us-east-1', service: 'sts' }
 */
export function scopeFromHost(hostname: string): { region?: string; service?: string } {
  const m = /^(.+)\.amazonaws\.com(\.cn)?$/.exec(hostname.toLowerCase().replace(/\.$/, ''));
  if (!m) return {};
  const labels = m[1]!.split('.');
  const china = m[2] !== undefined;
  const last = labels[labels.length - 1]!;
  let region: string | undefined;
  let label: string | undefined;
  if (REGION.test(last)) {
    region = last;
    let i = labels.length - 2;
    if (labels[i] === 'dualstack') i--;
    label = labels[i];
  } else if (REGION_FIRST.has(last) && labels.length >= 2 && REGION.test(labels[labels.length - 2]!)) {
    region = labels[labels.length - 2];
    label = last;
  } else {
    const legacy = /^s3(?:-fips)?-(.+)$/.exec(last);
    if (legacy && (REGION.test(legacy[1]!) || legacy[1] === 'external-1')) {
      region = legacy[1] === 'external-1' ? 'us-east-1' : legacy[1];
      label = 's3';
    } else {
      // A global endpoint of the aws partition signs for us-east-1.
      region = china ? undefined : 'us-east-1';
      label = last;
    }
  }
  if (label === undefined || label === '') return region ? { region } : {};
  const base = label.endsWith('-fips') ? label.slice(0, -'-fips'.length) : label;
  return { ...(region ? { region } : {}), service: SIGNING_NAMES[base] ?? base };
}

/**
 * The scope a request is signed for: the secret's `injection.region` / `injection.service` when set,
 * else what the host tells.
 *
 * @throws LatchkeyError `invalid_request` when neither gives a region and a service (before any I/O).
 */
export function resolveAwsScope(
  url: URL,
  injection: { readonly region?: string; readonly service?: string },
): AwsScope {
  const fromHost = scopeFromHost(url.hostname);
  const region = injection.region ?? fromHost.region;
  const service = injection.service ?? fromHost.service;
  if (!region || !service) {
    throw new LatchkeyError('invalid_request', {
      message:
        'The AWS region and service cannot be read from this host; set injection.region and injection.service on the secret.',
      details: { field: 'injection' },
    });
  }
  return { region, service };
}

async function readAll(stream: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += b.length;
    if (size > limit) throw new LatchkeyError('payload_too_large');
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

/**
 * First half of step 8 for `aws_sigv4`, before the secret is opened: the scope, and the payload
 * hash. A buffered body is hashed. A streamed body is sent as `UNSIGNED-PAYLOAD` to S3 (the only
 * service that accepts it) and read into memory (at most `maxBodyBytes`) for any other service.
 *
 * @param injection the secret's non-secret config (`region`, `service`).
 * @param req the outgoing method, URL and body (`undefined` is no body).
 * @param maxBodyBytes bound for reading a streamed body (`LATCHKEY_MAX_BODY_BYTES`).
 * @param signingDate the signature's time (`x-amz-date`).
 * @throws LatchkeyError `invalid_request` (no scope), `payload_too_large`.
 */
export async function planSigV4(
  injection: { readonly region?: string; readonly service?: string },
  req: { readonly method: string; readonly url: URL; readonly body?: Buffer | Readable | null },
  maxBodyBytes: number,
  signingDate: Date,
): Promise<SigV4Plan> {
  const scope = resolveAwsScope(req.url, injection);
  let body = req.body ?? null;
  let payloadHash: string;
  if (body === null) payloadHash = EMPTY_SHA256;
  else if (!Buffer.isBuffer(body) && scope.service === 's3') payloadHash = UNSIGNED_PAYLOAD;
  else {
    if (!Buffer.isBuffer(body)) body = await readAll(body, maxBodyBytes);
    payloadHash = createHash('sha256').update(body).digest('hex');
  }
  return { scope, method: req.method, body, payloadHash, signingDate };
}

/** RFC 3986 encoding of everything but unreserved characters (AWS's `UriEncode`). */
function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * The path as S3 canonicalizes it (each segment URI-encoded once; no dot-segment or `//`
 * normalization). Sent as-is, so the bytes on the wire are the bytes signed.
 *
 * @param pathname a URL path, percent-encoded or not.
 * @example s3CanonicalPath('/bucket/a b(1).txt') // '/bucket/a%20b%281%29.txt'
 */
export function s3CanonicalPath(pathname: string): string {
  return pathname
    .split('/')
    .map((segment) => {
      try {
        return uriEncode(decodeURIComponent(segment));
      } catch {
        return uriEncode(segment); // a stray `%` is a literal
      }
    })
    .join('/');
}

/**
 * A query as smithy's signer takes it (decoded; a repeated key becomes an array), with
 * `application/x-www-form-urlencoded` decoding — how `URLSearchParams` built it.
 */
export function queryOf(params: URLSearchParams): Record<string, string | string[]> {
  const q: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
  for (const [k, v] of params) {
    const cur = q[k];
    q[k] = cur === undefined ? v : Array.isArray(cur) ? [...cur, v] : [cur, v];
  }
  return q;
}

/**
 * The options our signer is built with: the scope, the credentials, `Sha256` from
 * `@aws-crypto/sha256-js`, and `uriEscapePath` off for S3 only (S3 paths are encoded once; every
 * other service's twice). The SigV4 test-suite runner builds its signer from this too.
 */
export function sigV4SignerInit(
  scope: AwsScope,
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string },
): SignatureV4Init & SignatureV4CryptoInit {
  return {
    credentials,
    region: scope.region,
    service: scope.service,
    sha256: Sha256,
    uriEscapePath: scope.service !== 's3',
    applyChecksum: true,
  };
}

/**
 * Second half of step 8 for `aws_sigv4`: signs the final request in place. Presigned-URL query
 * parameters are removed; for S3 the path is rewritten to its canonical form; the query is rewritten
 * to its canonical form (sorted, RFC 3986-encoded), so what is sent is what was signed. Sets
 * `authorization`, `x-amz-date`, `x-amz-content-sha256`, `x-amz-security-token` (with a session
 * token) and `host` (the URL's host, with a non-default port, as undici sends it). Every other header
 * is signed as well, except those smithy never signs (`user-agent`, `expect`, hop-by-hop, …).
 * Caller-supplied credential headers must already be gone (`injectCredential` does that).
 *
 * @param value the opened secret value.
 * @param plan from {@link planSigV4}.
 * @param headers outgoing headers (lowercase names), modified.
 * @param url outgoing URL, modified.
 * @returns the strings a response must not echo: the secret access key and the session token.
 */
export async function signSigV4(
  value: AwsSigV4Value,
  plan: SigV4Plan,
  headers: HeaderMap,
  url: URL,
): Promise<string[]> {
  for (const name of [...url.searchParams.keys()]) {
    if (PRESIGN_PARAMS.has(name.toLowerCase())) url.searchParams.delete(name);
  }
  if (plan.scope.service === 's3') url.pathname = s3CanonicalPath(url.pathname);

  const toSign: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [name, v] of Object.entries(headers)) toSign[name] = Array.isArray(v) ? v.join(',') : v;
  toSign['host'] = url.host;
  toSign['x-amz-content-sha256'] = plan.payloadHash;

  const signer = new SignatureV4(
    sigV4SignerInit(plan.scope, {
      accessKeyId: value.access_key_id,
      secretAccessKey: value.secret_access_key,
      ...(value.session_token ? { sessionToken: value.session_token } : {}),
    }),
  );
  const signed = await signer.sign(
    new HttpRequest({
      method: plan.method,
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      path: url.pathname,
      query: queryOf(url.searchParams),
      headers: toSign,
    }),
    { signingDate: plan.signingDate },
  );
  const query = getCanonicalQuery(signed);
  url.search = query ? `?${query}` : '';
  for (const name of SIGNED_OUTPUT) {
    const v = signed.headers[name];
    if (v !== undefined) headers[name] = v;
  }
  return [value.secret_access_key, value.session_token ?? ''].filter((s) => s.length >= 4);
}
