import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { aesGcmDecrypt, aesGcmEncrypt } from './aead.js';
import { CryptoError } from './errors.js';
import { hmacSha256 } from './tokens.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const vectorsDir = resolve(repoRoot, '../shared/test-vectors/wycheproof');

interface WycheproofFile<G> {
  readonly testGroups: readonly G[];
}
interface AeadGroup {
  readonly keySize: number;
  readonly ivSize: number;
  readonly tagSize: number;
  readonly tests: readonly {
    tcId: number;
    key: string;
    iv: string;
    aad: string;
    msg: string;
    ct: string;
    tag: string;
    result: 'valid' | 'invalid' | 'acceptable';
  }[];
}
interface MacGroup {
  readonly keySize: number;
  readonly tagSize: number;
  readonly tests: readonly {
    tcId: number;
    key: string;
    msg: string;
    tag: string;
    result: 'valid' | 'invalid' | 'acceptable';
  }[];
}

function load<G>(name: string): WycheproofFile<G> {
  return JSON.parse(readFileSync(resolve(vectorsDir, name), 'utf8')) as WycheproofFile<G>;
}

const hex = (s: string): Buffer => Buffer.from(s, 'hex');

describe('Wycheproof AES-GCM (256-bit key, 96-bit IV, 128-bit tag)', () => {
  it('round-trips every valid case and rejects every invalid case', () => {
    const file = load<AeadGroup>('aes_gcm_test.json');
    let valid = 0;
    let invalid = 0;
    for (const group of file.testGroups) {
      if (group.keySize !== 256 || group.ivSize !== 96 || group.tagSize !== 128) continue;
      for (const t of group.tests) {
        const [key, iv, aad, msg, ct, tag] = [t.key, t.iv, t.aad, t.msg, t.ct, t.tag].map(hex) as [
          Buffer,
          Buffer,
          Buffer,
          Buffer,
          Buffer,
          Buffer,
        ];
        if (t.result === 'valid') {
          const out = aesGcmEncrypt(key, iv, msg, aad);
          expect(out.ciphertext.toString('hex'), `tcId ${t.tcId}`).toBe(t.ct);
          expect(out.tag.toString('hex'), `tcId ${t.tcId}`).toBe(t.tag);
          expect(aesGcmDecrypt(key, iv, ct, tag, aad).toString('hex'), `tcId ${t.tcId}`).toBe(t.msg);
          valid++;
        } else if (t.result === 'invalid') {
          expect(() => aesGcmDecrypt(key, iv, ct, tag, aad), `tcId ${t.tcId}`).toThrow(CryptoError);
          invalid++;
        }
      }
    }
    expect(valid).toBeGreaterThan(0);
    expect(invalid).toBeGreaterThan(0);
  });
});

describe('Wycheproof HMAC-SHA256', () => {
  it('matches every valid tag and mismatches every invalid one (tags truncated per tagSize)', () => {
    const file = load<MacGroup>('hmac_sha256_test.json');
    let count = 0;
    for (const group of file.testGroups) {
      for (const t of group.tests) {
        const mac = hmacSha256(hex(t.key), hex(t.msg)).subarray(0, group.tagSize / 8);
        if (t.result === 'valid') expect(mac.toString('hex'), `tcId ${t.tcId}`).toBe(t.tag);
        else if (t.result === 'invalid') expect(mac.toString('hex'), `tcId ${t.tcId}`).not.toBe(t.tag);
        else continue;
        count++;
      }
    }
    expect(count).toBeGreaterThan(0);
  });
});
