/**
 * The published shape: `npm run build -w @latchkey/sdk` produces a dual ESM/CJS package whose
 * `require('@latchkey/sdk')` and `import('@latchkey/sdk')` both expose `App` (resolved through the
 * package's `exports`, without the `source` condition, in a plain Node process), with no runtime or
 * type-level dependency on `@latchkey/api` or zod.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_API_KEY, sendJson, startServer, type TestServer } from './helpers/server.js';

const run = promisify(execFile);
const sdkDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const repoRoot = join(sdkDir, '..', '..');
const dist = (f: string) => join(sdkDir, 'dist', f);

let server: TestServer;

beforeAll(async () => {
  await run('npm', ['run', 'build', '-w', '@latchkey/sdk'], { cwd: repoRoot, timeout: 170_000 });
  server = await startServer((_, res) =>
    sendJson(res, 200, { keys: [], total: 0, limit: 100, offset: 0, has_more: false }),
  );
}, 180_000);
afterAll(() => server?.close());

async function node(args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, args, { cwd: repoRoot, timeout: 30_000 });
  return stdout.trim();
}

describe('npm run build -w @latchkey/sdk', () => {
  it('writes ESM, CJS and both declaration files', () => {
    for (const f of ['index.js', 'index.cjs', 'index.d.ts', 'index.d.cts']) expect(existsSync(dist(f)), f).toBe(true);
  });

  it('exposes App through require() of the CJS build', async () => {
    const out = await node([
      '-e',
      "const m = require('@latchkey/sdk'); console.log(require.resolve('@latchkey/sdk'), typeof m.App, typeof m.GrantNotFoundError)",
    ]);
    expect(out).toBe(`${dist('index.cjs')} function function`);
  });

  it('exposes App through import() of the ESM build', async () => {
    const out = await node([
      '--input-type=module',
      '-e',
      "const m = await import('@latchkey/sdk'); console.log(import.meta.resolve('@latchkey/sdk'), typeof m.App, typeof m.GrantNotFoundError)",
    ]);
    expect(out).toBe(`file://${dist('index.js')} function function`);
  });

  it('makes signed calls from both builds', async () => {
    const script = (load: string) =>
      `${load}.then(async ({ App }) => { const app = new App({ apiKey: '${TEST_API_KEY}', baseUrl: '${server.url}' }); const r = await app.keys.list(); console.log(Object.isFrozen(r), r.total) })`;
    server.requests.length = 0;
    expect(await node(['-e', script("Promise.resolve(require('@latchkey/sdk'))")])).toBe('true 0');
    expect(await node(['--input-type=module', '-e', script("import('@latchkey/sdk')")])).toBe('true 0');
    expect(server.requests).toHaveLength(2);
    for (const r of server.requests) expect(r.headers['signature-input']).toMatch(/^sig1=/);
  });

  it('bundles @latchkey/api (no zod, no imports of workspace packages)', () => {
    for (const f of ['index.js', 'index.cjs', 'index.d.ts', 'index.d.cts']) {
      const text = readFileSync(dist(f), 'utf8');
      expect(text, f).not.toMatch(/(from|require\()\s*["']@latchkey\/(?!sdk)/);
      expect(text, f).not.toMatch(/(from|require\()\s*["']zod/);
      expect(text, f).not.toMatch(/(from|require\()\s*["']node:/);
    }
  });
});
