import fs from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';

const require = createRequire(import.meta.url);

/** The parts of `@20minutes/s3rver` (CommonJS, untyped) these tests use. */
interface S3rverApp {
  configureBuckets(): Promise<void>;
  callback(): http.RequestListener;
}
type S3rverCtor = new (options: Record<string, unknown>) => S3rverApp;
interface AccountModule {
  DUMMY_ACCOUNT: { createKeyPair(accessKeyId: string, secretAccessKey: string): void };
}

/** One request s3rver received (headers as Node parsed them). */
export interface S3rverSeen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

/** A running s3rver on 127.0.0.2 with the requests it saw. */
export interface S3rverHandle {
  port: number;
  seen: S3rverSeen[];
  close(): Promise<void>;
}

/**
 * Starts `@20minutes/s3rver` in-process on 127.0.0.2 (a fresh temp dir, the given buckets), with
 * `allowMismatchedSignatures: false` (its default: SigV4 signatures are verified) and the given key
 * pairs registered on its account. The listener records each request's headers before s3rver sees it.
 */
export async function startS3rver(keys: Record<string, string>, buckets: string[]): Promise<S3rverHandle> {
  const S3rver = require('@20minutes/s3rver') as S3rverCtor;
  const account = require('@20minutes/s3rver/lib/models/account') as AccountModule;
  for (const [id, secret] of Object.entries(keys)) account.DUMMY_ACCOUNT.createKeyPair(id, secret);
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'latchkey-s3rver-'));
  const s3 = new S3rver({
    directory,
    silent: true,
    allowMismatchedSignatures: false,
    configureBuckets: buckets.map((name) => ({ name, configs: [] })),
  });
  await s3.configureBuckets();
  const handle = s3.callback();
  const seen: S3rverSeen[] = [];
  const server = http.createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: { ...req.headers } });
    handle(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.2', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          fs.rmSync(directory, { recursive: true, force: true });
          resolve();
        });
      }),
  };
}
