import path from 'node:path';
import { expect, test } from 'vitest';
import { runTsChild } from './helpers/ts-child.js';

/**
 * A child that remembers 50,000 nonces, each sliced out of its own 1 KB `Signature-Input` header as
 * the signature parser does, and prints the heap they hold per nonce after full collections.
 */
const HOLD = `
  import { createMemoryNonceStore } from ${JSON.stringify(path.join(import.meta.dirname, '../src/coordination/nonce-store.ts'))};
  const store = createMemoryNonceStore();
  const gc = (globalThis as { gc?: () => void }).gc!;
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < 50_000; i++) {
    const header = 'sig1=("@method" "@target-uri");created=1;expires=61;nonce="' + i.toString(36).padStart(24, 'n') + '";keyid="key_' + (i % 7) + '"' + ' '.repeat(900);
    const nonce = header.slice(header.indexOf('nonce="') + 7, header.indexOf('";keyid'));
    const keyId = header.slice(header.indexOf('keyid="') + 7, header.lastIndexOf('"'));
    await store.consume(keyId, nonce, 60_000);
  }
  gc();
  gc();
  console.log(JSON.stringify({ size: store.size, bytesPerNonce: (process.memoryUsage().heapUsed - before) / store.size }));
  store.close();
`;

test('remembered nonces do not keep the request headers they were parsed from alive', async () => {
  const stdout = await runTsChild(HOLD, { nodeFlags: ['--expose-gc'], timeoutMs: 60_000 });
  const { size, bytesPerNonce } = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
    size: number;
    bytesPerNonce: number;
  };
  expect(size).toBe(50_000);
  // Flat keys: about 110 bytes each with the map and the expiry list; holding each 1 KB header: over 1,000.
  expect(bytesPerNonce).toBeLessThan(300);
});
