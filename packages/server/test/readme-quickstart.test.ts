/**
 * Runs the README's SDK quickstart, as written, against a live server. The only changes are the
 * addresses: `api.github.com` becomes a verifying upstream on 127.0.0.2 (no internet here) and the
 * base URL becomes the test server's port.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { api } from './helpers/api.js';
import { startServer, type TestServer } from './helpers/server.js';
import { startUpstream, type Upstream } from './helpers/upstream.js';

const run = promisify(execFile);
const repoRoot = path.resolve(import.meta.dirname, '../../..');
const TOKEN = 'ghp_quickstartCANARY0123456789';
let up: Upstream;
let s: TestServer;

beforeAll(async () => {
  up = await startUpstream((req, res) => {
    const ok = req.headers.authorization === `Bearer ${TOKEN}` && req.url === '/user';
    res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
    res.end(JSON.stringify(ok ? { login: 'octocat' } : { message: 'Bad credentials' }));
  });
  s = await startServer({ LATCHKEY_EGRESS_ALLOW_HTTP_HOSTS: up.host });
});

afterAll(async () => {
  await s?.close();
  await up?.close();
});

test('the README quickstart (SDK) runs as written', async () => {
  const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  const m = /<!-- quickstart:sdk -->\s*```ts\n([\s\S]*?)```\s*<!-- \/quickstart:sdk -->/.exec(readme);
  expect(m, 'README has a quickstart:sdk block').not.toBeNull();
  const code = m![1]!
    .replaceAll('https://api.github.com', up.url)
    .replaceAll("'api.github.com'", `'${up.host}:${up.port}'`)
    .replaceAll('http://127.0.0.1:7070', s.baseUrl);
  const dir = fs.mkdtempSync(path.join(repoRoot, 'packages/server/test/.quickstart-'));
  const file = path.join(dir, 'quickstart.mts');
  fs.writeFileSync(file, code);
  try {
    const { stdout } = await run(process.execPath, ['--conditions=source', '--import', 'tsx', file], {
      cwd: repoRoot,
      env: { ...process.env, LATCHKEY_API_KEY: s.appKey, GITHUB_TOKEN: TOKEN },
      timeout: 60_000,
    });
    expect(stdout).toContain("200 { login: 'octocat' }");
    expect(stdout.trim().split('\n').at(-1)).toBe("200 { login: 'octocat' }");
    expect(stdout).not.toContain(TOKEN);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  expect(up.seen.map((r) => r.headers.authorization)).toEqual([`Bearer ${TOKEN}`, `Bearer ${TOKEN}`]);
  const audit = await api(s.baseUrl, s.appKey, 'GET', '/v1/audit?event=proxy.request.completed');
  expect(audit.body.events).toHaveLength(2);
  expect(audit.body.events[1].reason).toBe('quickstart');
});
