/**
 * The official AWS SDK v3 (`@aws-sdk/client-s3`, unmodified) driven through `awsRequestHandler()`:
 * the client holds placeholder credentials, Latchkey re-signs each request with the stored key, and
 * `@20minutes/s3rver` (which verifies SigV4 signatures) answers.
 */
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { Readable } from 'node:stream';
import { App, awsRequestHandler } from '@latchkey/sdk';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startS3rver, type S3rverHandle } from './helpers/s3rver.js';
import { startServer, type TestServer } from './helpers/server.js';

const KEY_ID = 'AKIALATCHKEYAWSSDK01';
const SECRET = 'aws-sdk-e2e-CANARY/9rT2mQ7xW4pL8vN1cK5hJ3bF6dS0gY';
const placeholder = { accessKeyId: 'placeholder', secretAccessKey: 'placeholder' };

let s3: S3rverHandle;
let s: TestServer;
let app: App;
let grantId: string;
let endpoint: string;

beforeAll(async () => {
  s3 = await startS3rver({ [KEY_ID]: SECRET }, []);
  endpoint = `http://127.0.0.2:${s3.port}`;
  s = await startServer({ LATCHKEY_EGRESS_ALLOW_HTTP_HOSTS: '127.0.0.2' });
  app = new App({ apiKey: s.appKey, baseUrl: s.baseUrl });
  const secret = await app.managedSecrets.create({
    slug: 's3',
    type: 'aws_sigv4',
    value: { access_key_id: KEY_ID, secret_access_key: SECRET },
    injection: { region: 'us-east-1', service: 's3' },
    allowedHosts: [`127.0.0.2:${s3.port}`],
  });
  grantId = (await app.createManagedSecretGrant(secret.id, { principal: { type: 'system' } })).grantId;
});

afterAll(async () => {
  await s?.close();
  await s3?.close();
});

function client(withLatchkey: boolean): S3Client {
  const c = new S3Client({
    region: 'us-east-1',
    endpoint,
    forcePathStyle: true,
    credentials: placeholder,
    maxAttempts: 1,
    ...(withLatchkey ? { requestHandler: awsRequestHandler({ client: app, grantId, reason: 'aws-sdk test' }) } : {}),
  });
  // s3rver 4.0.4 verifies a bucket-level request (`/bucket/`, what the SDK sends for CreateBucket and
  // ListObjectsV2) against `/bucket`, so it refuses even the AWS SDK's own signature; real S3 keeps
  // the slash. Sending `/bucket` lets s3rver's verification apply (object paths are unaffected).
  c.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { path?: string };
      if (request.path && /^\/[^/]+\/$/.test(request.path)) request.path = request.path.slice(0, -1);
      return next(args);
    },
    { step: 'build', name: 's3rverBucketPath' },
  );
  return c;
}

test('without the handler, s3rver refuses the placeholder credentials (it checks signatures)', async () => {
  const err = await client(false)
    .send(new CreateBucketCommand({ Bucket: 'direct' }))
    .catch((e: unknown) => e);
  expect(err).toBeInstanceOf(S3ServiceException);
  expect((err as S3ServiceException).$metadata.httpStatusCode).toBe(403);
  expect((err as S3ServiceException).name).toBe('InvalidAccessKeyId');
});

test('CreateBucket, PutObject, GetObject and ListObjectsV2 through Latchkey', async () => {
  const c = client(true);
  await c.send(new CreateBucketCommand({ Bucket: 'sdk-bucket' }));
  await c.send(
    new PutObjectCommand({
      Bucket: 'sdk-bucket',
      Key: 'reports/2026 Q1 (draft).json',
      Body: JSON.stringify({ revenue: 42 }),
      ContentType: 'application/json',
      Metadata: { owner: 'finance' },
    }),
  );
  await c.send(
    new PutObjectCommand({ Bucket: 'sdk-bucket', Key: 'reports/bytes.bin', Body: new Uint8Array([1, 2, 3]) }),
  );

  const got = await c.send(new GetObjectCommand({ Bucket: 'sdk-bucket', Key: 'reports/2026 Q1 (draft).json' }));
  expect(got.ContentType).toBe('application/json');
  expect(got.Metadata).toEqual({ owner: 'finance' });
  expect(JSON.parse(await got.Body!.transformToString())).toEqual({ revenue: 42 });
  const bytes = await c.send(new GetObjectCommand({ Bucket: 'sdk-bucket', Key: 'reports/bytes.bin' }));
  expect([...(await bytes.Body!.transformToByteArray())]).toEqual([1, 2, 3]);

  const list = await c.send(new ListObjectsV2Command({ Bucket: 'sdk-bucket', Prefix: 'reports/' }));
  expect(list.KeyCount).toBe(2);
  expect(list.Contents?.map((o) => o.Key).sort()).toEqual(['reports/2026 Q1 (draft).json', 'reports/bytes.bin']);

  // Every request reached s3rver signed with the stored key, never the placeholder.
  const signed = s3.seen.filter((r) => r.url.startsWith('/sdk-bucket'));
  expect(signed.length).toBeGreaterThanOrEqual(6);
  for (const r of signed) {
    expect(r.headers['authorization']).toContain(`Credential=${KEY_ID}/`);
    expect(r.headers['authorization']).not.toContain('placeholder');
  }
});

test('a streamed PutObject (aws-chunked with a trailing CRC32 by default) is unframed and re-signed', async () => {
  const c = client(true);
  const text = 'line one\nline two\n'.repeat(1000);
  await c.send(
    new PutObjectCommand({
      Bucket: 'sdk-bucket',
      Key: 'streams/log.txt',
      Body: Readable.from([Buffer.from(text.slice(0, 7000)), Buffer.from(text.slice(7000))]),
      ContentLength: text.length,
    }),
  );
  const seen = s3.seen.at(-1)!;
  expect(seen.headers['content-encoding']).toBeUndefined();
  expect(seen.headers['content-length']).toBe(String(text.length));
  expect(seen.headers['x-amz-checksum-crc32']).toMatch(/^[A-Za-z0-9+/]+=*$/);
  expect(seen.headers['authorization']).toContain('x-amz-checksum-crc32');
  const got = await c.send(new GetObjectCommand({ Bucket: 'sdk-bucket', Key: 'streams/log.txt' }));
  expect(await got.Body!.transformToString()).toBe(text);
});

test('an AWS error comes back to the AWS SDK as its own exception', async () => {
  const err = await client(true)
    .send(new GetObjectCommand({ Bucket: 'sdk-bucket', Key: 'missing.txt' }))
    .catch((e: unknown) => e);
  expect(err).toBeInstanceOf(S3ServiceException);
  expect((err as S3ServiceException).name).toBe('NoSuchKey');
  expect((err as S3ServiceException).$metadata.httpStatusCode).toBe(404);
});
