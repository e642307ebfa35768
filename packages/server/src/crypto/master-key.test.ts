import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MasterKeyError, type MasterKeyErrorReason } from './errors.js';
import { loadOrCreateMasterKey, parseMasterKey, writeMasterKeyFile } from './master-key.js';

const posix = process.platform !== 'win32';
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'latchkey-mk-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function expectMasterKeyError(fn: () => unknown, reason: MasterKeyErrorReason, secret?: string): MasterKeyError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(MasterKeyError);
    const e = err as MasterKeyError;
    expect(e.reason).toBe(reason);
    if (secret) {
      expect(e.message).not.toContain(secret);
      expect(e.message).not.toContain(secret.trim());
      expect(String(e.stack)).not.toContain(secret.trim());
    }
    return e;
  }
  throw new Error('expected a MasterKeyError');
}

describe('loadOrCreateMasterKey (data dir)', () => {
  it('creates master.key with mode 0600 in a 0700 dir, then reloads the same key', () => {
    const dataDir = join(dir, 'data');
    const first = loadOrCreateMasterKey({ dataDir });
    expect(first.created).toBe(true);
    expect(first.source).toBe('data_dir');
    expect(first.key.byteLength).toBe(32);
    expect(first.path).toBe(join(dataDir, 'master.key'));
    if (posix) {
      expect(statSync(first.path!).mode & 0o777).toBe(0o600);
      expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    }
    expect(readdirSync(dataDir)).toEqual(['master.key']);

    const second = loadOrCreateMasterKey({ dataDir });
    expect(second.created).toBe(false);
    expect(second.key).toEqual(first.key);
  });

  it.skipIf(!posix)('refuses a key file readable by group or others', () => {
    const { path } = loadOrCreateMasterKey({ dataDir: dir });
    chmodSync(path!, 0o644);
    const err = expectMasterKeyError(() => loadOrCreateMasterKey({ dataDir: dir }), 'insecure_permissions');
    expect(err.message).toContain('chmod 600');
    expect(err.message).not.toContain(readFileSync(path!, 'utf8').trim());
  });

  it('refuses a corrupt data-dir key file without echoing it', () => {
    const path = join(dir, 'master.key');
    const bad = 'c2VjcmV0LWJ1dC10b28tc2hvcnQ=';
    writeFileSync(path, bad, { mode: 0o600 });
    expectMasterKeyError(() => loadOrCreateMasterKey({ dataDir: dir }), 'bad_format', bad);
  });
});

describe('loadOrCreateMasterKey (environment)', () => {
  const key = randomBytes(32);

  it('accepts base64, base64url, unpadded and hex values, ignoring surrounding whitespace', () => {
    for (const text of [
      key.toString('base64'),
      key.toString('base64url'),
      key.toString('base64').replace(/=$/, ''),
      key.toString('hex'),
      key.toString('hex').toUpperCase(),
      `  ${key.toString('base64')}\n`,
    ]) {
      const loaded = loadOrCreateMasterKey({ dataDir: join(dir, 'unused'), envKey: text });
      expect(loaded).toEqual({ key, source: 'env', created: false });
    }
    expect(readdirSync(dir)).toEqual([]);
  });

  it('reads LATCHKEY_MASTER_KEY_FILE', () => {
    const path = join(dir, 'secret');
    writeFileSync(path, `${key.toString('hex')}\n`);
    const loaded = loadOrCreateMasterKey({ dataDir: dir, envKeyFile: path });
    expect(loaded).toEqual({ key, source: 'env_file', created: false, path });
  });

  it('refuses bad values and never puts them in the message', () => {
    const badValues = [
      randomBytes(16).toString('base64'),
      randomBytes(33).toString('base64'),
      randomBytes(31).toString('hex'),
      `${key.toString('hex')}00`,
      'not-a-key-at-all-but-secret-looking-text-123456',
      key.toString('base64').replace(/.$/, '!'),
      // 43 chars whose last char carries non-zero padding bits: non-canonical base64.
      `${key.toString('base64').slice(0, 42)}B`,
    ];
    for (const bad of badValues) {
      expectMasterKeyError(() => loadOrCreateMasterKey({ dataDir: dir, envKey: bad }), 'bad_format', bad);
    }
    const path = join(dir, 'bad');
    writeFileSync(path, badValues[0]!);
    expectMasterKeyError(() => loadOrCreateMasterKey({ dataDir: dir, envKeyFile: path }), 'bad_format', badValues[0]);
  });

  it('refuses both sources at once and reports a missing key file', () => {
    expectMasterKeyError(
      () => loadOrCreateMasterKey({ dataDir: dir, envKey: key.toString('hex'), envKeyFile: '/x' }),
      'conflict',
      key.toString('hex'),
    );
    expectMasterKeyError(() => loadOrCreateMasterKey({ dataDir: dir, envKeyFile: join(dir, 'missing') }), 'unreadable');
  });

  it('treats empty variables as unset', () => {
    const loaded = loadOrCreateMasterKey({ dataDir: dir, envKey: '', envKeyFile: '  ' });
    expect(loaded.source).toBe('data_dir');
  });

  it('parseMasterKey names the source, not the value', () => {
    const err = expectMasterKeyError(() => parseMasterKey('abc', 'LATCHKEY_MASTER_KEY'), 'bad_format');
    expect(err.message).toContain('LATCHKEY_MASTER_KEY');
  });
});

describe('writeMasterKeyFile', () => {
  it('atomically replaces the file with mode 0600 and leaves no temp files', () => {
    const { path, key: oldKey } = loadOrCreateMasterKey({ dataDir: dir });
    const newKey = randomBytes(32);
    writeMasterKeyFile(path!, newKey);
    if (posix) expect(statSync(path!).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['master.key']);
    const reloaded = loadOrCreateMasterKey({ dataDir: dir });
    expect(reloaded.key).toEqual(newKey);
    expect(reloaded.key).not.toEqual(oldKey);
  });

  it('refuses a key that is not 32 bytes', () => {
    expect(() => writeMasterKeyFile(join(dir, 'k'), Buffer.alloc(16))).toThrow(TypeError);
  });
});
