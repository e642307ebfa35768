import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';

const repoRoot = path.resolve(import.meta.dirname, '../../..');
const bin = path.join(repoRoot, 'packages/cli/bin/latchkey.mjs');
const dirs: string[] = [];
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'latchkey-cli-'));
  dirs.push(d);
  return d;
};

function cli(
  args: string[],
  env: Record<string, string> = {},
  stdin = '',
): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [bin, ...args], {
      env: { ...process.env, LATCHKEY_LOG_LEVEL: 'warn', ...env },
      timeout: 60_000,
    });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (err += d));
    child.stdin!.end(stdin);
    child.on('close', (code) => resolve({ code: code ?? 1, out, err }));
  });
}

/** Starts `latchkey serve` on a free port; resolves with its URL and first-start output. */
function serve(dataDir: string, env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [bin, 'serve', '--data-dir', dataDir, '--port', '0', '--json'], {
    env: { ...process.env, LATCHKEY_LOG_LEVEL: 'warn', ...env },
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  const ready = new Promise<string>((resolve, reject) => {
    child.stderr.on('data', (d) => {
      err += d;
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m) resolve(m[1]!);
    });
    child.on('exit', (code) => reject(new Error(`serve exited ${code}: ${err}`)));
  });
  return {
    ready,
    get out() {
      return out;
    },
    get err() {
      return err;
    },
    stop: () =>
      new Promise<number>((resolve) => {
        child.removeAllListeners('exit');
        child.on('exit', (code, signal) => {
          if (code !== 0) console.error(`serve exited with ${code ?? signal}: ${err}`);
          resolve(code ?? 1);
        });
        child.kill('SIGTERM');
      }),
  };
}

afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('latchkey init', () => {
  test('creates the data dir, a 0600 master key and the default app, prints the key once; refuses to run twice', async () => {
    const dir = path.join(tmp(), 'data');
    const first = await cli(['init', '--data-dir', dir, '--json']);
    expect(first.code, first.err).toBe(0);
    const out = JSON.parse(first.out) as { app_id: string; app_key: string; base_url: string };
    expect(out.app_id).toMatch(/^app_/);
    expect(out.app_key).toMatch(/^lk_app_[0-9A-Za-z]{43}$/);
    expect(out.base_url).toBe('http://127.0.0.1:7070');
    expect(first.err).toContain('WARNING: a master key was generated');
    expect(fs.statSync(path.join(dir, 'master.key')).mode & 0o777).toBe(0o600);
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    const again = await cli(['init', '--data-dir', dir, '--json']);
    expect(again.code).toBe(5);
    expect(JSON.parse(again.err).error.code).toBe('already_initialized');
    expect(again.out).toBe('');
  });

  test('bad configuration fails with one message listing every bad key', async () => {
    const r = await cli(['init', '--data-dir', tmp()], { LATCHKEY_PORT: 'abc', LATCHKEY_AUDIT_MODE: 'sometimes' });
    expect(r.code).toBe(2);
    expect(r.err).toContain('LATCHKEY_PORT');
    expect(r.err).toContain('LATCHKEY_AUDIT_MODE');
  });
});

describe('latchkey serve and the client commands', () => {
  test('first start initializes; the client commands work end to end; SIGTERM shuts down cleanly', async () => {
    const dir = path.join(tmp(), 'data');
    const server = serve(dir);
    const url = await server.ready;
    const init = JSON.parse(server.out.trim()) as { app_key: string };
    const env = { LATCHKEY_API_KEY: init.app_key, LATCHKEY_URL: url };
    const created = await cli(
      ['secrets', 'create', '--slug', 'gh', '--template', 'github', '--json'],
      env,
      'ghp_example_value_0123456789\n',
    );
    expect(created.code, created.err).toBe(0);
    const secret = JSON.parse(created.out) as { id: string; allowedHosts: string[]; type: string };
    expect(secret.type).toBe('bearer');
    expect(secret.allowedHosts).toEqual(['api.github.com', 'uploads.github.com']);
    const issued = await cli(['grants', 'issue', secret.id, '--ttl', '600', '--json'], env);
    expect(issued.code, issued.err).toBe(0);
    const grant = JSON.parse(issued.out) as { grantId: string };
    expect((await cli(['grants', 'list'], env)).out).toContain(grant.grantId);
    const revoked = await cli(['grants', 'revoke', grant.grantId, '--reason', 'cli test', '--json'], env);
    expect(JSON.parse(revoked.out).status).toBe('revoked');
    const minted = await cli(['keys', 'mint', '--scope', 'proxy:execute', '--scope', 'grants:read', '--json'], env);
    expect(JSON.parse(minted.out).api_key).toMatch(/^lk_app_/);
    const missing = await cli(['grants', 'revoke', '00000000-0000-4000-8000-000000000000', '--json'], env);
    expect(missing.code).toBe(4);
    expect(JSON.parse(missing.err).error.code).toBe('grant_not_found');
    const noKey = await cli(['grants', 'list'], { LATCHKEY_URL: url });
    expect(noKey.code).toBe(2);
    const tail = await cli(['audit', 'tail', '--json'], env);
    const events = tail.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).event as string);
    expect(events).toEqual(
      expect.arrayContaining(['app.created', 'secret.stored', 'grant.issued', 'grant.revoked', 'key.minted']),
    );
    const verify = await cli(['audit', 'verify'], env);
    expect(verify.code).toBe(0);
    expect(verify.out).toContain('OK: every chain verifies.');
    expect(await server.stop()).toBe(0);
    // A restart does not print a key again.
    const again = serve(dir);
    await again.ready;
    expect(again.out).toBe('');
    expect(await again.stop()).toBe(0);
  });
});

describe('latchkey keyring rotate-root', () => {
  test('re-wraps every KEK under a new root key; stored secrets still work after a restart', async () => {
    const dir = path.join(tmp(), 'data');
    const init = JSON.parse((await cli(['init', '--data-dir', dir, '--json'])).out) as { app_key: string };
    const oldKey = fs.readFileSync(path.join(dir, 'master.key'), 'utf8');
    const server = serve(dir);
    const url = await server.ready;
    const env = { LATCHKEY_API_KEY: init.app_key, LATCHKEY_URL: url };
    const created = await cli(
      ['secrets', 'create', '--slug', 's', '--type', 'bearer', '--allowed-host', 'api.example.com', '--json'],
      env,
      'value-0123456789abcdef',
    );
    expect(created.code, created.err).toBe(0);
    const rotated = await cli(['keyring', 'rotate-root', '--data-dir', dir, '--json']);
    expect(rotated.code, rotated.err).toBe(0);
    expect(JSON.parse(rotated.out).rewrapped_keks).toBe(1);
    const newKey = fs.readFileSync(path.join(dir, 'master.key'), 'utf8');
    expect(newKey).not.toBe(oldKey);
    expect(fs.statSync(path.join(dir, 'master.key')).mode & 0o777).toBe(0o600);
    expect(await server.stop()).toBe(0);
    // Restart on the new key: the signing key and the secret still open.
    const again = serve(dir);
    const url2 = await again.ready;
    const list = await cli(['secrets', 'list', '--json'], { LATCHKEY_API_KEY: init.app_key, LATCHKEY_URL: url2 });
    expect(list.code, list.err).toBe(0);
    expect(JSON.parse(list.out).managedSecrets).toHaveLength(1);
    expect(await again.stop()).toBe(0);
    // The old key no longer opens the database.
    fs.writeFileSync(path.join(dir, 'master.key'), oldKey, { mode: 0o600 });
    const wrong = serve(dir);
    await expect(wrong.ready).rejects.toThrow(/does not match/);
  });
});

describe('the launcher', () => {
  test('runs the compiled build when it is current, the TypeScript sources when forced', async () => {
    const { builtIsCurrent } = (await import(path.join(repoRoot, 'packages/cli/bin/build-state.mjs'))) as {
      builtIsCurrent: (dir: string) => boolean;
    };
    const expected = builtIsCurrent(path.join(repoRoot, 'packages')) ? 'compiled build' : 'TypeScript sources';
    for (const [env, runtime] of [
      [{}, expected],
      [{ LATCHKEY_FROM_SOURCE: '1' }, 'TypeScript sources'],
    ] as const) {
      const server = serve(path.join(tmp(), 'data'), env);
      const url = await server.ready;
      expect(server.err).toContain(`listening on ${url} (${runtime})`);
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      expect(await server.stop()).toBe(0);
    }
  });

  test('the build counts as current only when every stamp is newer than every source file', async () => {
    const { builtIsCurrent } = (await import(path.join(repoRoot, 'packages/cli/bin/build-state.mjs'))) as {
      builtIsCurrent: (dir: string, names: string[]) => boolean;
    };
    const root = tmp();
    const src = path.join(root, 'p', 'src', 'deep');
    const dist = path.join(root, 'p', 'dist');
    fs.mkdirSync(src, { recursive: true });
    fs.mkdirSync(dist, { recursive: true });
    fs.writeFileSync(path.join(src, 'a.ts'), '');
    expect(builtIsCurrent(root, ['p'])).toBe(false); // no stamp
    fs.writeFileSync(path.join(dist, '.build-stamp'), '');
    const t = Date.now() / 1000;
    fs.utimesSync(path.join(src, 'a.ts'), t - 10, t - 10);
    fs.utimesSync(path.join(dist, '.build-stamp'), t, t);
    expect(builtIsCurrent(root, ['p'])).toBe(true);
    fs.utimesSync(path.join(src, 'a.ts'), t, t); // saved in the same clock tick as the build
    expect(builtIsCurrent(root, ['p'])).toBe(false);
    fs.utimesSync(path.join(src, 'a.ts'), t + 10, t + 10); // a source edited after the build
    expect(builtIsCurrent(root, ['p'])).toBe(false);
    expect(builtIsCurrent(root, ['p', 'missing'])).toBe(false);
  });
});
